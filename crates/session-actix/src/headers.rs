//! actix-web's header maps (http 0.2) as the engine sees them.

session_engine::http_headers!(actix_web::http::header);
