//! The ID token: the code exchanged for it, its verification, and who it says signed in.

#[allow(clippy::wildcard_imports)]
use super::*;

/// Signature algorithms accepted on ID tokens: asymmetric only, so that a token can never be
/// "signed" with something public such as the client id, and never `none`.
pub(super) const ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

/// The code for tokens at the token endpoint; returns the ID token.
pub(super) async fn exchange(
    provider: IdentityProvider,
    config: &ProviderConfig,
    metadata: &Metadata,
    code: &str,
    verifier: &str,
    redirect_uri: &str,
) -> Result<String, Stop> {
    let response = http()?
        .post(&metadata.token_endpoint)
        .header(header::ACCEPT, "application/json")
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", redirect_uri),
            ("code_verifier", verifier),
            ("client_id", &config.client_id),
            ("client_secret", config.client_secret.expose()),
        ])
        .send()
        .await
        .map_err(|e| {
            tracing::warn!(provider = provider.as_str(), error = %e.without_url(), "the token request failed");
            Stop::unreachable(provider)
        })?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if status.is_client_error() {
        // A refused code (used, expired, not ours) is the invitee's to retry, not an outage.
        // Only a plain OAuth error name is kept: the description is the provider's free text.
        let error = body["error"]
            .as_str()
            .filter(|e| e.len() <= 64 && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
            .unwrap_or("refused");
        tracing::info!(
            provider = provider.as_str(),
            %status,
            error,
            "the token endpoint refused the code"
        );
        return Err(Stop::new(
            ErrorCode::Forbidden,
            format!("{} did not accept the sign-in", display_name(provider)),
            format!(
                "{} refused to complete this sign-in ({error}); nothing was changed.",
                display_name(provider)
            ),
        )
        .and("Open the invitation link from your e-mail again to start over."));
    }
    match body["id_token"].as_str() {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => {
            tracing::warn!(provider = provider.as_str(), %status, "the token endpoint answered without an ID token");
            Err(Stop::unreachable(provider))
        }
    }
}

/// The claims of an ID token this flow reads. `exp`, `iss`, `aud`, `sub` are required and
/// `exp`/`nbf`/`aud` checked by `jsonwebtoken`; the rest here.
#[derive(Debug, Deserialize)]
pub(super) struct Claims {
    pub(super) iss: String,
    #[serde(default)]
    pub(super) aud: Value,
    #[serde(default)]
    pub(super) azp: Option<String>,
    #[serde(default)]
    pub(super) nonce: Option<String>,
    #[serde(default)]
    pub(super) email: Option<String>,
    #[serde(default)]
    pub(super) email_verified: Option<Value>,
    #[serde(default)]
    pub(super) preferred_username: Option<String>,
    /// The account at the issuer; required.
    #[serde(default)]
    pub(super) sub: String,
    /// Microsoft: the tenant of the account.
    #[serde(default)]
    pub(super) tid: Option<String>,
    /// Microsoft: the account's object id, stable for the account in its tenant.
    #[serde(default)]
    pub(super) oid: Option<String>,
    /// Microsoft: the issuer that authenticated a guest, when it is not the tenant itself.
    #[serde(default)]
    pub(super) idp: Option<String>,
    /// Microsoft: the e-mail's domain is verified by the tenant that owns it.
    #[serde(default)]
    pub(super) xms_edov: Option<Value>,
    #[serde(default)]
    pub(super) given_name: Option<String>,
    #[serde(default)]
    pub(super) family_name: Option<String>,
    /// Every other claim: the role mapping reads its groups claim, whatever its name.
    #[serde(flatten)]
    pub(super) extra: serde_json::Map<String, Value>,
}

pub(super) fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// Why a token was refused, for the log: a fixed word, never the token or a claim's value.
pub(super) fn refusal(kind: &jsonwebtoken::errors::ErrorKind) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::InvalidSignature => "bad signature",
        K::ExpiredSignature => "expired",
        K::ImmatureSignature => "not yet valid",
        K::InvalidAudience => "another audience",
        K::InvalidIssuer => "another issuer",
        K::MissingRequiredClaim(_) => "a required claim is missing",
        K::InvalidAlgorithm | K::MissingAlgorithm => "an unexpected algorithm",
        _ => "malformed",
    }
}

/// The ID token, verified: signed by a key of the issuer's JWKS with an asymmetric algorithm,
/// issued by the issuer discovered for this sign-in, for this client, unexpired, carrying the
/// nonce this sign-in sent.
pub(super) async fn verify(
    provider: IdentityProvider,
    config: &ProviderConfig,
    metadata: &Metadata,
    id_token: &str,
    nonce: &str,
) -> Result<Claims, Stop> {
    let refuse = |why: &str| {
        tracing::info!(
            provider = provider.as_str(),
            reason = why,
            "ID token refused"
        );
        Stop::unverified(provider)
    };
    let header = jsonwebtoken::decode_header(id_token).map_err(|e| refuse(refusal(e.kind())))?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(refuse("an unexpected algorithm"));
    }
    #[derive(Deserialize)]
    struct KeySet {
        keys: Vec<Value>,
    }
    let keys: KeySet = fetch_json(http()?.get(&metadata.jwks_uri), provider, "JWKS").await?;
    // Keys are read one at a time so that one key of a type this build does not know (the set
    // may hold encryption keys too) does not make the others unusable.
    let candidates: Vec<Jwk> = keys
        .keys
        .into_iter()
        .filter_map(|k| serde_json::from_value::<Jwk>(k).ok())
        .filter(|k| match (&header.kid, &k.common.key_id) {
            (Some(want), Some(have)) => want == have,
            (Some(_), None) => false,
            (None, _) => true,
        })
        .filter(|k| !matches!(k.common.public_key_use, Some(PublicKeyUse::Encryption)))
        .filter(|k| {
            k.common
                .key_algorithm
                .is_none_or(|a| a == KeyAlgorithm::from(header.alg))
        })
        .collect();
    let [jwk] = candidates.as_slice() else {
        return Err(refuse("no single matching key in the JWKS"));
    };
    let key = DecodingKey::from_jwk(jwk).map_err(|_| refuse("an unusable key in the JWKS"))?;
    if key.family() != header.alg.family() {
        return Err(refuse("a key of another type"));
    }
    let mut validation = Validation::new(header.alg);
    validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
    validation.set_audience(&[&config.client_id]);
    validation.validate_nbf = true;
    validation.leeway = 60;
    let claims = jsonwebtoken::decode::<Claims>(id_token, &key, &validation)
        .map_err(|e| refuse(refusal(e.kind())))?
        .claims;
    // Checked here rather than by `jsonwebtoken` because a multi-tenant issuer is a template.
    let expected_issuer = if metadata.issuer.contains("{tenantid}") {
        let tid = claims
            .tid
            .as_deref()
            .and_then(tenant_guid)
            .ok_or_else(|| refuse("no tenant for a multi-tenant issuer"))?;
        metadata.issuer.replace("{tenantid}", &tid)
    } else {
        metadata.issuer.clone()
    };
    // Google documents both forms of its issuer in ID tokens.
    let google_short = expected_issuer == GOOGLE_ISSUER && claims.iss == "accounts.google.com";
    if claims.iss != expected_issuer && !google_short {
        return Err(refuse("another issuer"));
    }
    // OpenID Connect Core 3.1.3.7: several audiences need an `azp`, and an `azp` must be us.
    let several = claims.aud.as_array().is_some_and(|a| a.len() > 1);
    if (several && claims.azp.is_none())
        || claims.azp.as_ref().is_some_and(|a| *a != config.client_id)
    {
        return Err(refuse("authorized for another party"));
    }
    if claims.nonce.as_deref() != Some(nonce) {
        return Err(refuse("another nonce"));
    }
    if provider == IdentityProvider::Microsoft {
        // The account is its tenant and its object id: both must be there, and the token must
        // come from that tenant's own issuer.
        let tid = claims
            .tid
            .as_deref()
            .and_then(tenant_guid)
            .ok_or_else(|| refuse("no tenant"))?;
        if !claims.iss.split('/').any(|segment| segment == tid) {
            return Err(refuse("an issuer of another tenant"));
        }
        if claims.oid.as_deref().and_then(tenant_guid).is_none() {
            return Err(refuse("no object id"));
        }
    } else if claims.sub.is_empty() {
        return Err(refuse("no subject"));
    }
    Ok(claims)
}

/// The provider's account behind a verified ID token, as recorded on the user.
pub(super) struct Account {
    pub(super) issuer: String,
    pub(super) tenant: Option<String>,
    pub(super) subject: String,
}

pub(super) fn account(provider: IdentityProvider, claims: &Claims) -> Account {
    match provider {
        IdentityProvider::Microsoft => Account {
            issuer: claims.iss.clone(),
            tenant: claims.tid.as_deref().and_then(tenant_guid),
            subject: claims
                .oid
                .as_deref()
                .and_then(tenant_guid)
                .unwrap_or_default(),
        },
        _ => Account {
            issuer: claims.iss.clone(),
            tenant: None,
            subject: claims.sub.clone(),
        },
    }
}

/// The e-mail addresses the provider vouches for, lower-cased, and (for the page) what the
/// account said its e-mail was when none is vouched for.
pub(super) struct Identity {
    pub(super) verified: Vec<String>,
    pub(super) shown: Option<String>,
}

/// Google: `email` with `email_verified`. Microsoft sends no `email_verified`; its `email` and
/// `preferred_username` (the sign-in name) are set by the account's tenant, can change, and
/// anyone can make a tenant that names an account of its own after someone else's address.
/// Accepted from Microsoft:
/// - `email` that the owner of its domain verified (`xms_edov`, an optional claim to add in
///   the app registration; or an `email_verified`, should one come), from any tenant;
/// - `email` or `preferred_username` of a member of the tenant the invitation is restricted to
///   (`tid` checked, and no `idp`: not a guest from elsewhere), whose directory the inviting
///   admin chose to trust.
///
/// Never `preferred_username` (nor a plain `email`) from a tenant the invitation does not name.
pub(super) fn identity(
    provider: IdentityProvider,
    claims: &Claims,
    tenant_checked: bool,
) -> Identity {
    let lower = |s: &Option<String>| {
        s.as_deref()
            .map(|e| e.trim().to_lowercase())
            .filter(|e| gatehouse_api::looks_like_email(e))
    };
    let email = lower(&claims.email);
    let email_verified = truthy(claims.email_verified.as_ref());
    let mut verified = Vec::new();
    match provider {
        IdentityProvider::Microsoft => {
            let member = tenant_checked && claims.idp.as_ref().is_none_or(|i| *i == claims.iss);
            if let Some(e) = &email
                && (email_verified || truthy(claims.xms_edov.as_ref()) || member)
            {
                verified.push(e.clone());
            }
            if let Some(u) = lower(&claims.preferred_username)
                && member
            {
                verified.push(u);
            }
        }
        _ => {
            if let Some(e) = &email
                && email_verified
            {
                verified.push(e.clone());
            }
        }
    }
    Identity {
        verified,
        shown: email.or_else(|| lower(&claims.preferred_username)),
    }
}
