//! A URL-encoded form extractor that accepts and refuses exactly what actix-web's `web::Form`
//! does, with the same statuses and texts, so a client sees no difference between the twins.

use std::borrow::Cow;
use std::fmt;

use axum::extract::{FromRequest, Request};
use axum::http::header::{CONTENT_LENGTH, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use encoding_rs::{Encoding, UTF_8};
use futures::StreamExt as _;
use serde::de::DeserializeOwned;

use crate::TEXT_CONTENT_TYPE;

/// The largest form body accepted: actix-web's `FormConfig` default, 16 KiB.
pub const FORM_LIMIT: usize = 16_384;

/// A URL-encoded form, as actix-web's `web::Form<T>` reads it: `Content-Type` must be
/// `application/x-www-form-urlencoded` (any case; a `charset` parameter names the body's
/// encoding), the body at most [`FORM_LIMIT`] bytes.
///
/// Refusals answer with actix-web's texts (`text/plain; charset=utf-8`): `415`
/// `Content type error.`, `413` `URL encoded payload is larger (N bytes) than allowed (limit:
/// 16384 bytes).`, `411` `Payload size is now known.` (sic), `400` `Parse error: <serde's
/// message>.` or `Encoding error.`.
#[derive(Debug)]
pub struct Form<T>(pub T);

/// Why a form was refused, with actix-web's `UrlencodedError` texts and statuses.
#[derive(Debug)]
enum Refusal {
    ContentType,
    UnknownLength,
    Overflow { size: usize, limit: usize },
    Parse(serde_urlencoded::de::Error),
    Encoding,
    Payload(axum::Error),
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ContentType => f.write_str("Content type error."),
            Self::UnknownLength => f.write_str("Payload size is now known."),
            Self::Overflow { size, limit } => write!(
                f,
                "URL encoded payload is larger ({size} bytes) than allowed (limit: {limit} bytes)."
            ),
            Self::Parse(error) => write!(f, "Parse error: {error}."),
            Self::Encoding => f.write_str("Encoding error."),
            Self::Payload(error) => {
                write!(f, "Error that occur during reading payload: {error}.")
            }
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        let status = match self {
            Self::Overflow { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnknownLength => StatusCode::LENGTH_REQUIRED,
            Self::ContentType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Parse(_) | Self::Encoding | Self::Payload(_) => StatusCode::BAD_REQUEST,
        };
        let mut response = self.to_string().into_response();
        *response.status_mut() = status;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(TEXT_CONTENT_TYPE));
        response
    }
}

/// The body's encoding from the `charset` parameter (UTF-8 without one), as actix-web's
/// `HttpMessage::encoding`; `None` for an unparsable type or an unknown charset.
fn encoding(headers: &HeaderMap) -> Option<&'static Encoding> {
    let Some(value) = headers.get(CONTENT_TYPE) else {
        return Some(UTF_8);
    };
    let mime: mime::Mime = value.to_str().ok()?.parse().ok()?;
    match mime.get_param("charset") {
        Some(charset) => Encoding::for_label_no_replacement(charset.as_str().as_bytes()),
        None => Some(UTF_8),
    }
}

async fn read<T: DeserializeOwned>(request: Request) -> Result<T, Refusal> {
    let headers = request.headers();
    let essence = headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .and_then(|text| text.split(';').next())
        .unwrap_or("")
        .trim();
    if essence.to_lowercase() != "application/x-www-form-urlencoded" {
        return Err(Refusal::ContentType);
    }
    let encoding = encoding(headers).ok_or(Refusal::ContentType)?;
    if let Some(length) = headers.get(CONTENT_LENGTH) {
        let length = length
            .to_str()
            .ok()
            .and_then(|text| text.parse::<usize>().ok())
            .ok_or(Refusal::UnknownLength)?;
        if length > FORM_LIMIT {
            return Err(Refusal::Overflow {
                size: length,
                limit: FORM_LIMIT,
            });
        }
    }
    let mut stream = request.into_body().into_data_stream();
    let mut body = Vec::with_capacity(8192);
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(Refusal::Payload)?;
        let size = body.len() + chunk.len();
        if size > FORM_LIMIT {
            return Err(Refusal::Overflow {
                size,
                limit: FORM_LIMIT,
            });
        }
        body.extend_from_slice(&chunk);
    }
    if encoding == UTF_8 {
        serde_urlencoded::from_bytes(&body).map_err(Refusal::Parse)
    } else {
        let text = encoding
            .decode_without_bom_handling_and_without_replacement(&body)
            .map(Cow::into_owned)
            .ok_or(Refusal::Encoding)?;
        serde_urlencoded::from_str(&text).map_err(Refusal::Parse)
    }
}

impl<T, S> FromRequest<S> for Form<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = Response;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        read(request)
            .await
            .map(Form)
            .map_err(IntoResponse::into_response)
    }
}
