//! Reading a URL-encoded form body to find the CSRF token in it.

use axum_core::body::Body;
use bytes::{Bytes, BytesMut};
use futures::StreamExt as _;
use session_engine::{CsrfRefusal, MAX_FORM_LEN};

/// Reads the whole form `body`, up to [`MAX_FORM_LEN`], to be searched and then handed on.
///
/// # Errors
///
/// [`CsrfRefusal::FormTooLarge`] past the limit, [`CsrfRefusal::FormUnreadable`] when the
/// body fails.
pub(super) async fn read_form(body: Body) -> Result<Bytes, CsrfRefusal> {
    let mut chunks = body.into_data_stream();
    let mut form = BytesMut::new();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|error| {
            tracing::debug!(%error, "form body could not be read");
            CsrfRefusal::FormUnreadable
        })?;
        if form.len() + chunk.len() > MAX_FORM_LEN {
            return Err(CsrfRefusal::FormTooLarge);
        }
        form.extend_from_slice(&chunk);
    }
    Ok(form.freeze())
}
