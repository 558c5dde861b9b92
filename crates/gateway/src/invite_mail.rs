//! The invitation mail.

use gatehouse_api::Secret;

use crate::AppState;
use crate::invitations::InvitationRow;

/// Mails the invitation's link to the invitee (or their notification address).
pub async fn send(_state: &AppState, row: &InvitationRow, _token: &Secret) {
    tracing::info!(invitation = %row.id, "invitation mail not configured");
}
