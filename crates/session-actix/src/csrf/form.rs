//! Finding the token in a URL-encoded form body, which is then handed on intact.

use actix_web::HttpMessage as _;
use actix_web::dev::{Payload, ServiceRequest};
use actix_web::http::StatusCode;
use actix_web::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use actix_web::web::BytesMut;
use futures::StreamExt as _;

use super::{CsrfProtection, MAX_FORM_LEN};

fn is_form(req: &ServiceRequest) -> bool {
    req.headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| {
            value
                .trim_start()
                .to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        })
}

/// Why a form body could not be searched for the token.
#[derive(Debug, thiserror::Error)]
pub(super) enum FormRefusal {
    /// Larger than [`MAX_FORM_LEN`].
    #[error("form body too large to search for the CSRF token")]
    TooLarge,
    /// The body stream failed part-way.
    #[error("form body could not be read")]
    Unreadable(#[source] actix_web::error::PayloadError),
}

impl FormRefusal {
    pub(super) fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Unreadable(_) => StatusCode::BAD_REQUEST,
        }
    }
}

fn declared_length(req: &ServiceRequest) -> Option<usize> {
    req.headers()
        .get(CONTENT_LENGTH)?
        .to_str()
        .ok()?
        .parse()
        .ok()
}

/// Reads the whole form body (up to the limit), finds `field`, and puts the body back.
async fn token_from_form(
    req: &mut ServiceRequest,
    field: &str,
) -> Result<Option<String>, FormRefusal> {
    if declared_length(req).is_some_and(|len| len > MAX_FORM_LEN) {
        return Err(FormRefusal::TooLarge);
    }
    let mut payload = req.take_payload();
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(FormRefusal::Unreadable)?;
        if body.len() + chunk.len() > MAX_FORM_LEN {
            return Err(FormRefusal::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let body = body.freeze();
    let token = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
        .ok()
        .and_then(|pairs| pairs.into_iter().find(|(name, _)| name == field))
        .map(|(_, value)| value);
    req.set_payload(Payload::from(body));
    Ok(token)
}

impl<T> CsrfProtection<T> {
    /// The token the request carries: the header, else the URL-encoded form field.
    pub(super) async fn provided_token(
        &self,
        req: &mut ServiceRequest,
    ) -> Result<Option<String>, FormRefusal> {
        let header = req
            .headers()
            .get(&self.header)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned);
        match header {
            None if is_form(req) => token_from_form(req, &self.field).await,
            header => Ok(header),
        }
    }
}
