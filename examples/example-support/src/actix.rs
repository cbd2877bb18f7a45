//! The actix-web glue: serving an `App` on [`bind_addr`] and the text and
//! redirect answers of the examples.

use std::fmt;
use std::io::Write as _;

use actix_http::Request;
use actix_service::IntoServiceFactory;
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, Response, Service, ServiceFactory};
use actix_web::http::header::{ContentType, LOCATION};
use actix_web::{HttpResponse, HttpServer};

use crate::env::bind_addr;
use crate::error::StartError;

/// Starts an `HttpServer` with `factory` on [`bind_addr`], prints
/// `Listening on http://<bound address>/` as the only line on stdout (so `BIND_ADDR=…:0` shows
/// the port chosen), then serves until the process is stopped, as actix-web does by default:
/// `SIGTERM` stops gracefully (requests in flight finish), `SIGINT` and `SIGQUIT` at once.
///
/// # Errors
///
/// [`StartError::Bind`] when the address cannot be bound, and [`StartError::Io`].
pub async fn serve<F, I, S, B>(factory: F) -> Result<(), StartError>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    serve_with_workers(None, factory).await
}

/// [`serve`] with `workers` worker threads (actix-web's default, one per core, when `None`).
///
/// # Errors
///
/// As [`serve`].
pub async fn serve_with_workers<F, I, S, B>(
    workers: Option<usize>,
    factory: F,
) -> Result<(), StartError>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let addr = bind_addr()?;
    let mut server = HttpServer::new(factory);
    if let Some(workers) = workers {
        server = server.workers(workers);
    }
    let server = server
        .bind(addr.as_str())
        .map_err(|source| StartError::Bind {
            addr: addr.clone(),
            source,
        })?;
    let bound = server.addrs();
    let first = bound.first().ok_or_else(|| StartError::Bind {
        addr,
        source: std::io::Error::other("no address was bound"),
    })?;
    tracing::info!(addresses = ?bound, "listening");
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "Listening on http://{first}/")?;
    stdout.flush()?;
    drop(stdout);
    server.run().await?;
    Ok(())
}

/// `200 OK` with a plain-text body, like Ktor's `respondText`.
pub fn text(body: impl Into<String>) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body(body.into())
}

/// `302 Found` to `location`, like Ktor's `respondRedirect`.
pub fn found(location: &str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((LOCATION, location))
        .finish()
}
