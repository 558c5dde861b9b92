//! The invitation mail: who invited, to what, and the link.

use gatehouse_api::Secret;

use crate::AppState;
use crate::invitations::{InvitationRow, link};
use crate::mail::Mail;
use crate::pages::escape;

/// Mails the invitation's link to the invitee, or to their notification address when one is
/// set. Call after the transaction that made or renewed the invitation has committed.
pub fn send(state: &AppState, org: &str, row: &InvitationRow, token: &Secret) {
    let link = link(&state.public_url, token.expose());
    let to = row
        .notification_email
        .clone()
        .unwrap_or_else(|| row.email.clone());
    let greeting = if row.first_name.trim().is_empty() {
        "Hello,".to_owned()
    } else {
        format!("Hello {},", row.first_name.trim())
    };
    let expires = row.expires_at.get(..10).unwrap_or(&row.expires_at);
    let text = format!(
        "{greeting}\n\nYou are invited to join {org} on Gatehouse as {role}, with the account {email}.\n\
         Accept the invitation here (the link works once, until {expires}):\n\n{link}\n",
        role = row.role,
        email = row.email,
    );
    let html = format!(
        "<!DOCTYPE html><html><body style=\"font-family:sans-serif\"><p>{}</p>\
         <p>You are invited to join <strong>{}</strong> on Gatehouse as {}, with the account {}.</p>\
         <p><a href=\"{}\">Accept the invitation</a></p>\
         <p style=\"color:#5b6475\">Or copy this address into your browser: {}<br>\
         The link works once, until {}.</p></body></html>",
        escape(&greeting),
        escape(org),
        escape(&row.role),
        escape(&row.email),
        escape(&link),
        escape(&link),
        escape(expires),
    );
    state.mailer.send_later(Mail {
        kind: "invitation",
        to,
        subject: format!("You are invited to {org}"),
        text,
        html,
    });
}
