//! Reading a URL-encoded form body to find the CSRF token in it.

use axum_core::body::Body;
use bytes::Bytes;
use futures::StreamExt as _;
use session_engine::{CsrfRefusal, FormBody};

/// Reads the whole form `body`, up to [`MAX_FORM_LEN`](session_engine::MAX_FORM_LEN), to be
/// searched and then handed on.
///
/// # Errors
///
/// [`CsrfRefusal::FormTooLarge`] past the limit, [`CsrfRefusal::FormUnreadable`] when the
/// body fails.
pub(super) async fn read_form(body: Body) -> Result<Bytes, CsrfRefusal> {
    let mut chunks = body.into_data_stream();
    let mut form = FormBody::default();
    while let Some(chunk) = chunks.next().await {
        form.push(&chunk.map_err(|error| {
            tracing::debug!(%error, "form body could not be read");
            CsrfRefusal::FormUnreadable
        })?)?;
    }
    Ok(form.finish())
}
