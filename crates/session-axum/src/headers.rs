//! http 1.x header maps as the engine sees them.

session_engine::http_headers!(http::header);
