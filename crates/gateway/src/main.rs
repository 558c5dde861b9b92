//! `gatehouse-gateway`: initialise and serve a Gatehouse gateway.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use gatehouse_api::Secret;
use gatehouse_gateway::dataplane::{DataPlaneOptions, UpstreamKeys, UpstreamNets};
use gatehouse_gateway::invite_key::InviteKey;
use gatehouse_gateway::oidc::{self, OidcConfig, ProviderConfig};
use gatehouse_gateway::{Db, GatewayOptions, RunningGateway, demo};

// Each request through the data plane allocates and frees its headers, buffers and JSON many
// times over: glibc's allocator took 14 % of the process's CPU at the bench's top rate.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
        #[command(flatten)]
        invite_key: InviteKeyArgs,
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
        // Boxed: the variant would otherwise dwarf `Init`.
        #[command(flatten)]
        oidc: Box<OidcArgs>,
        #[command(flatten)]
        data_plane: Box<DataPlaneArgs>,
        #[command(flatten)]
        invite_key: InviteKeyArgs,
        #[command(flatten)]
        webhooks: Box<WebhookArgs>,
    },
}

/// Notification channels (outgoing webhooks).
#[derive(clap::Args)]
struct WebhookArgs {
    /// An address range (`127.0.0.1`, `10.0.0.0/8`, `fd00::/8`) of loopback, private or
    /// link-local addresses that notification channels may point at (plain http is then taken
    /// for them too); repeat for several. Without it channels call only public https URLs. A
    /// cloud metadata address opens only when listed alone.
    #[arg(long = "allow-webhook-net", value_name = "CIDR")]
    allowed_webhook_nets: Vec<String>,
    /// The same as `--allow-webhook-net`, several separated by spaces or commas.
    #[arg(long, env = "GATEHOUSE_ALLOWED_WEBHOOK_NETS", hide = true)]
    allowed_webhook_nets_env: Option<String>,
}

impl WebhookArgs {
    fn into_options(self) -> anyhow::Result<gatehouse_gateway::webhooks::WebhookOptions> {
        let mut nets = match &self.allowed_webhook_nets_env {
            Some(text) => UpstreamNets::parse(text).map_err(anyhow::Error::msg)?,
            None => UpstreamNets::default(),
        };
        for entry in &self.allowed_webhook_nets {
            nets.add(entry).map_err(anyhow::Error::msg)?;
        }
        tracing::info!(allowed = ?nets.ranges(), "non-public webhook ranges allowed");
        Ok(gatehouse_gateway::webhooks::WebhookOptions {
            allowed_nets: nets,
            ..Default::default()
        })
    }
}

/// The key invitation tokens are sealed under in the database, so that a copy of the database
/// alone gives no live invitation link. Every node of one database needs the same key.
#[derive(clap::Args)]
struct InviteKeyArgs {
    /// 32 random bytes in base64 (`openssl rand -base64 32`). Prefer the environment: flags
    /// show in the process list.
    #[arg(long, env = "GATEHOUSE_INVITE_KEY", hide_env_values = true)]
    invite_key: Option<String>,
    /// Without --invite-key: the file that holds the key, made (readable by its owner alone)
    /// when missing; default: invite.key in the gateway's config folder.
    #[arg(long, env = "GATEHOUSE_INVITE_KEY_FILE")]
    invite_key_file: Option<PathBuf>,
}

impl InviteKeyArgs {
    fn load(self) -> anyhow::Result<InviteKey> {
        if let Some(text) = self.invite_key {
            tracing::info!("invitation key from --invite-key");
            return InviteKey::from_base64(&Secret::new(text)).context("--invite-key");
        }
        let path = match self.invite_key_file {
            Some(path) => path,
            None => dirs::config_dir()
                .context("no config folder for the invitation key; pass --invite-key")?
                .join("gatehouse-gateway")
                .join("invite.key"),
        };
        let key = InviteKey::load_or_create(&path)?;
        tracing::info!(path = %path.display(), "invitation key from its file");
        Ok(key)
    }
}

/// The upstreams of `/v1`. A model of the `openai` provider is called at its catalog base URL
/// with the key configured here for that URL (or a URL it is under); with none, without a key.
/// Prefer the environment: flags show in the process list.
#[derive(clap::Args)]
struct DataPlaneArgs {
    /// `BASE_URL=KEY`, e.g. `https://api.openai.com/v1=sk-…`; repeat for several upstreams.
    #[arg(
        long = "upstream-key",
        value_name = "BASE_URL=KEY",
        hide_env_values = true
    )]
    upstream_keys: Vec<String>,
    /// The same as `--upstream-key`, several separated by spaces or commas.
    #[arg(
        long,
        env = "GATEHOUSE_UPSTREAM_KEYS",
        hide_env_values = true,
        hide = true
    )]
    upstream_keys_env: Option<String>,
    /// An address range (`10.0.0.0/8`, `127.0.0.1`, `fd00::/8`) of loopback, private or
    /// link-local addresses that upstreams may be in; repeat for several. Without it the gateway
    /// calls only public addresses. A cloud metadata address opens only when listed alone.
    #[arg(long = "allow-upstream-net", value_name = "CIDR")]
    allowed_upstream_nets: Vec<String>,
    /// The same as `--allow-upstream-net`, several separated by spaces or commas.
    #[arg(long, env = "GATEHOUSE_ALLOWED_UPSTREAM_NETS", hide = true)]
    allowed_upstream_nets_env: Option<String>,
    /// Several nodes on PostgreSQL: seconds after which the counters of a node that stopped
    /// (crashed), its concurrency slots among them, no longer count.
    #[arg(long, env = "GATEHOUSE_LEASE_TTL_SECS", default_value_t = 30)]
    lease_ttl_secs: u64,
    /// Several nodes on PostgreSQL: milliseconds between two reconciliations of a node's counters
    /// with the others'. A limit may be passed by what the other nodes admit in two of them.
    #[arg(long, env = "GATEHOUSE_RECONCILE_MS", default_value_t = 25)]
    reconcile_ms: u64,
    /// Where the node journals each answered request before its usage is committed, so that a
    /// crash loses none: by default beside a SQLite file, or under $XDG_STATE_HOME (or
    /// ~/.local/state)/gatehouse for PostgreSQL.
    #[arg(long, env = "GATEHOUSE_JOURNAL_DIR")]
    journal_dir: Option<std::path::PathBuf>,
}

impl DataPlaneArgs {
    fn into_options(self) -> anyhow::Result<DataPlaneOptions> {
        let mut keys = match &self.upstream_keys_env {
            Some(text) => UpstreamKeys::parse(text).map_err(anyhow::Error::msg)?,
            None => UpstreamKeys::default(),
        };
        for entry in &self.upstream_keys {
            keys.add(entry).map_err(anyhow::Error::msg)?;
        }
        let mut nets = match &self.allowed_upstream_nets_env {
            Some(text) => UpstreamNets::parse(text).map_err(anyhow::Error::msg)?,
            None => UpstreamNets::default(),
        };
        for entry in &self.allowed_upstream_nets {
            nets.add(entry).map_err(anyhow::Error::msg)?;
        }
        if self.lease_ttl_secs == 0 {
            anyhow::bail!("--lease-ttl-secs must be at least 1");
        }
        if !(1..=10_000).contains(&self.reconcile_ms) {
            anyhow::bail!("--reconcile-ms must be between 1 and 10000");
        }
        tracing::info!(upstreams = ?keys.bases(), "upstream keys configured");
        tracing::info!(allowed = ?nets.ranges(), "non-public upstream ranges allowed");
        Ok(DataPlaneOptions {
            upstream_keys: keys,
            allowed_upstream_nets: nets,
            lease_ttl: std::time::Duration::from_secs(self.lease_ttl_secs),
            reconcile_interval: std::time::Duration::from_millis(self.reconcile_ms),
            journal_dir: self.journal_dir,
        })
    }
}

/// Sign-in with Google or Microsoft for invitations restricted to one. A provider is on when it
/// has a client id; its redirect URI to register is `{public URL}/oidc/callback`. Prefer the
/// environment for the secrets: flags show in the process list.
#[derive(clap::Args)]
struct OidcArgs {
    #[arg(long, env = "GATEHOUSE_OIDC_GOOGLE_ISSUER", default_value = oidc::GOOGLE_ISSUER)]
    oidc_google_issuer: String,
    #[arg(long, env = "GATEHOUSE_OIDC_GOOGLE_CLIENT_ID")]
    oidc_google_client_id: Option<String>,
    #[arg(
        long,
        env = "GATEHOUSE_OIDC_GOOGLE_CLIENT_SECRET",
        hide_env_values = true
    )]
    oidc_google_client_secret: Option<String>,
    /// `{tenant}` becomes the invitation's tenant id, or `common` when it names none.
    #[arg(long, env = "GATEHOUSE_OIDC_MICROSOFT_ISSUER", default_value = oidc::MICROSOFT_ISSUER)]
    oidc_microsoft_issuer: String,
    #[arg(long, env = "GATEHOUSE_OIDC_MICROSOFT_CLIENT_ID")]
    oidc_microsoft_client_id: Option<String>,
    #[arg(
        long,
        env = "GATEHOUSE_OIDC_MICROSOFT_CLIENT_SECRET",
        hide_env_values = true
    )]
    oidc_microsoft_client_secret: Option<String>,
    /// The organisation's own OpenID Connect provider (Okta, Keycloak, …): its issuer, whose
    /// discovery document is `{issuer}/.well-known/openid-configuration`.
    #[arg(long, env = "GATEHOUSE_OIDC_ISSUER")]
    oidc_issuer: Option<String>,
    #[arg(long, env = "GATEHOUSE_OIDC_CLIENT_ID")]
    oidc_client_id: Option<String>,
    #[arg(long, env = "GATEHOUSE_OIDC_CLIENT_SECRET", hide_env_values = true)]
    oidc_client_secret: Option<String>,
    /// What people see it called, e.g. "Okta".
    #[arg(long, env = "GATEHOUSE_OIDC_NAME")]
    oidc_name: Option<String>,
}

impl OidcArgs {
    fn into_config(self) -> anyhow::Result<OidcConfig> {
        let config = OidcConfig {
            google: ProviderConfig::from_settings(
                "Google",
                &self.oidc_google_issuer,
                self.oidc_google_client_id,
                self.oidc_google_client_secret,
            )
            .map_err(anyhow::Error::msg)?,
            microsoft: ProviderConfig::from_settings(
                "Microsoft",
                &self.oidc_microsoft_issuer,
                self.oidc_microsoft_client_id,
                self.oidc_microsoft_client_secret,
            )
            .map_err(anyhow::Error::msg)?,
            generic: match self.oidc_issuer.as_deref().map(str::trim) {
                Some(issuer) if !issuer.is_empty() => ProviderConfig::from_settings(
                    "The identity provider",
                    issuer,
                    self.oidc_client_id,
                    self.oidc_client_secret,
                )
                .map_err(anyhow::Error::msg)?,
                _ => None,
            },
            generic_name: self
                .oidc_name
                .map(|n| n.trim().to_owned())
                .filter(|n| !n.is_empty()),
        };
        for (name, provider) in [
            ("google", &config.google),
            ("microsoft", &config.microsoft),
            ("oidc", &config.generic),
        ] {
            match provider {
                Some(p) => {
                    tracing::info!(provider = name, issuer = %p.issuer, "invitee sign-in on")
                }
                None => tracing::info!(provider = name, "invitee sign-in off: no client id"),
            }
        }
        Ok(config)
    }
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
    gatehouse_gateway::init_logging();
    match Cli::parse().command {
        Command::Init {
            admin_email,
            org_name,
            seat_limit,
            db,
            invite_key,
        } => {
            // Made now so that a gateway's key exists from its start, where it is expected.
            invite_key.load()?;
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
            oidc,
            data_plane,
            invite_key,
            webhooks,
        } => {
            let oidc = oidc.into_config()?;
            let webhooks = (*webhooks).into_options()?;
            let data_plane = (*data_plane).into_options()?;
            let invite_key = invite_key.load()?;
            let db = open(db).await?;
            if with_demo {
                let token = demo::open(&db, "gateway --demo", &invite_key).await?;
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
                oidc,
                data_plane,
                invite_key: Some(invite_key),
                webhooks,
            };
            let gateway = RunningGateway::spawn_with(db, listener, options).await?;
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
