//! The axum glue: serving a `Router` on [`bind_addr`](crate::bind_addr) as the actix-web
//! examples are served, and the answers the actix-web examples give, byte for byte: text,
//! redirects, bare statuses, routes that refuse other methods as actix-web does
//! ([`route_for`], [`resource_for`]) and actix-web's form extractor ([`Form`]).

mod form;
mod responses;
mod routing;
mod serve;
mod unread;

pub use self::form::{FORM_LIMIT, Form};
pub use self::responses::{bare, found, html, not_found, see_other, text};
pub use self::routing::{resource_for, route_for};
pub use self::serve::serve;
