//! `gatehouse-gateway`: initialise and serve a Gatehouse gateway.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use gatehouse_api::Secret;
use gatehouse_gateway::{Db, GatewayOptions, RunningGateway, demo};

#[derive(Parser)]
#[command(
    name = "gatehouse-gateway",
    version,
    about = "The Gatehouse AI gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create the organisation and its first admin; prints the admin's token on the last line.
    Init {
        #[arg(long)]
        admin_email: String,
        #[arg(long, default_value = "My organisation")]
        org_name: String,
        #[arg(long, default_value_t = 10)]
        seat_limit: i64,
        /// sqlite://PATH or postgres://…; default: a SQLite file in the data folder.
        #[arg(long, env = "GATEHOUSE_DB")]
        db: Option<String>,
    },
    /// Serve the admin API.
    Serve {
        #[arg(long, env = "GATEHOUSE_DB")]
        db: Option<String>,
        #[arg(long, env = "GATEHOUSE_LISTEN", default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Seed the demo organisation when the database is empty, and print a fresh token for
        /// its admin.
        #[arg(long = "demo")]
        with_demo: bool,
        /// The SMTP server for outgoing mail: smtp://host:port, smtp://user:pass@host:587?tls=required
        /// (STARTTLS) or smtps://host:465. Without it no mail is sent (and that is logged).
        #[arg(long, env = "GATEHOUSE_SMTP_URL", hide_env_values = true)]
        smtp_url: Option<String>,
        /// The sender of every mail, `Name <address>` or an address.
        #[arg(long, env = "GATEHOUSE_MAIL_FROM", default_value = gatehouse_gateway::mail::DEFAULT_FROM)]
        mail_from: String,
        /// The base URL people reach this gateway at, for the links in mails; default: the
        /// listen address.
        #[arg(long, env = "GATEHOUSE_PUBLIC_URL")]
        public_url: Option<String>,
    },
}

fn default_db() -> anyhow::Result<String> {
    let dir = std::env::var_os("GATEHOUSE_DATA_DIR")
        .map(PathBuf::from)
        .or_else(|| dirs::data_dir().map(|d| d.join("gatehouse-gateway")))
        .context("no data folder; pass --db")?;
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(format!("sqlite://{}", dir.join("gateway.db").display()))
}

async fn open(db: Option<String>) -> anyhow::Result<Db> {
    let url = match db {
        Some(url) => url,
        None => default_db()?,
    };
    Db::connect(&url).await.context("opening the database")
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Init {
            admin_email,
            org_name,
            seat_limit,
            db,
        } => {
            let db = open(db).await?;
            let token = gatehouse_gateway::init(&db, &org_name, &admin_email, seat_limit).await?;
            println!("Initialised {org_name:?} with admin {admin_email}. Their token, shown once:");
            println!("{}", token.expose());
        }
        Command::Serve {
            db,
            listen,
            with_demo,
            smtp_url,
            mail_from,
            public_url,
        } => {
            let db = open(db).await?;
            if with_demo {
                let token = demo::open(&db, "gateway --demo").await?;
                println!(
                    "Demo organisation {:?}; a token for its admin {}:",
                    demo::DEMO_ORG,
                    demo::DEMO_ADMIN_EMAIL
                );
                println!("{}", token.expose());
            }
            let listener = tokio::net::TcpListener::bind(listen)
                .await
                .with_context(|| format!("binding {listen}"))?;
            let options = GatewayOptions {
                smtp_url: smtp_url.map(Secret::new),
                mail_from: Some(mail_from),
                public_url,
            };
            let gateway = RunningGateway::spawn_with(db, listener, options)?;
            tracing::info!(
                mailer = ?gateway.state.mailer,
                public_url = %gateway.state.public_url,
                "mail settings"
            );
            tracing::info!("gatehouse-gateway listening on {}", gateway.url());
            println!("listening on {}", gateway.url());
            tokio::signal::ctrl_c().await?;
            gateway.stop().await;
        }
    }
    Ok(())
}
