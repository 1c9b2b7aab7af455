//! One certificate order, start to end (RFC 8555, HTTP-01) with
//! instant-acme: the account (kept in the state directory), the order, the
//! challenges published for the plain listeners, the key and CSR, the chain.

use std::net::IpAddr;
use std::time::Duration;

use instant_acme::{
    Account, AccountBuilder, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount, NewOrder,
    OrderStatus, RetryPolicy,
};
use log::info;

use super::files;
use super::state::AcmeShared;
use crate::config::Acme;

/// How long an order may take to become ready, and its certificate to be issued.
const ORDER_TIMEOUT: Duration = Duration::from_secs(120);

/// A certificate chain and its key, PEM.
pub struct Issued {
    pub chain: String,
    pub key: String,
}

/// Obtain a certificate for `acme.domains`. Errors are text for the log
/// and the status page.
pub async fn obtain(acme: &Acme, shared: &AcmeShared) -> Result<Issued, String> {
    let mut account = account(acme, false).await?;
    let ids: Vec<Identifier> = acme
        .domains
        .iter()
        .map(|d| match d.parse::<IpAddr>() {
            Ok(ip) => Identifier::Ip(ip),
            Err(_) => Identifier::Dns(d.clone()),
        })
        .collect();
    let mut order = match account.new_order(&NewOrder::new(&ids)).await {
        Ok(order) => order,
        // The CA no longer knows the stored account (a reset CA, a
        // deactivated account): register anew, once.
        Err(instant_acme::Error::Api(p)) if p.r#type.as_deref() == Some(ACCOUNT_GONE) => {
            info!("acme: {} no longer knows the stored account; registering a new one", acme.directory);
            account = self::account(acme, true).await?;
            account.new_order(&NewOrder::new(&ids)).await.map_err(|e| format!("new order: {e}"))?
        }
        Err(e) => return Err(format!("new order: {e}")),
    };
    let mut published = Vec::new();
    let result = async {
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization.map_err(|e| format!("authorization: {e}"))?;
            match authorization.status {
                AuthorizationStatus::Pending => {}
                // Reused from an earlier order.
                AuthorizationStatus::Valid => continue,
                other => return Err(format!("authorization is {other:?}")),
            }
            let mut challenge = authorization
                .challenge(ChallengeType::Http01)
                .ok_or("the CA offers no http-01 challenge (tandem answers http-01 only)")?;
            let token = challenge.token.clone();
            let answer = challenge.key_authorization().as_str().to_string();
            shared.publish(&token, &answer);
            // Also on disk, so the other balancer of a pair that shares the
            // state directory answers it when it holds the VIP.
            files::write_challenge(&acme.state_dir, &token, &answer).map_err(|e| format!("challenge file: {e}"))?;
            published.push(token);
            challenge.set_ready().await.map_err(|e| format!("challenge: {e}"))?;
        }
        let retry = RetryPolicy::new().initial_delay(Duration::from_millis(250)).timeout(ORDER_TIMEOUT);
        match order.poll_ready(&retry).await.map_err(|e| format!("waiting for the order: {e}"))? {
            OrderStatus::Ready => {}
            status => return Err(order_failure(&mut order, status).await),
        }
        let key = order.finalize().await.map_err(|e| format!("finalize: {e}"))?;
        let chain = order.poll_certificate(&retry).await.map_err(|e| format!("certificate: {e}"))?;
        Ok(Issued { chain, key })
    }
    .await;
    for token in &published {
        shared.withdraw(token);
        files::remove_challenge(&acme.state_dir, token);
    }
    result
}

/// Why an order ended invalid: the first challenge error the CA reports.
async fn order_failure(order: &mut instant_acme::Order, status: OrderStatus) -> String {
    let mut why = format!("the order is {status:?}");
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authorization)) = authorizations.next().await {
        if let Some(challenge) = authorization.challenge(ChallengeType::Http01) {
            if let Some(error) = &challenge.error {
                why = format!("{why}: http-01 for {:?}: {error}", challenge.identifier().identifier);
                break;
            }
        }
    }
    why
}

/// RFC 8555 section 6.7: the account URL is not known to the server.
const ACCOUNT_GONE: &str = "urn:ietf:params:acme:error:accountDoesNotExist";

/// The account in the state directory (unless `fresh`), or a new one,
/// stored there.
async fn account(acme: &Acme, fresh: bool) -> Result<Account, String> {
    let path = acme.state_dir.join("account.json");
    if let Some(bytes) = std::fs::read(&path).ok().filter(|_| !fresh) {
        let credentials: AccountCredentials =
            serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        match builder(acme)?.from_credentials(credentials).await {
            Ok(account) => return Ok(account),
            Err(e) => info!("acme: the stored account cannot be used ({e}); registering a new one"),
        }
    }
    let contact = acme.email.as_ref().map(|e| format!("mailto:{e}"));
    let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
    let new = NewAccount { contact: &contacts, terms_of_service_agreed: true, only_return_existing: false };
    let (account, credentials) =
        builder(acme)?.create(&new, acme.directory.clone(), None).await.map_err(|e| format!("new account: {e}"))?;
    let json = serde_json::to_vec(&credentials).map_err(|e| e.to_string())?;
    files::write_private(&path, &json).map_err(|e| format!("{}: {e}", path.display()))?;
    info!("acme: registered an account with {}", acme.directory);
    Ok(account)
}

fn builder(acme: &Acme) -> Result<AccountBuilder, String> {
    match &acme.ca {
        Some(ca) => Account::builder_with_root(ca).map_err(|e| format!("acme.ca {}: {e}", ca.display())),
        None => Account::builder().map_err(|e| format!("the system's CAs: {e}")),
    }
}
