//! TLS through rustls: make sure a crypto provider is there before a `rediss://` connection.

use redis::TlsCertificates;
use rustls::crypto::CryptoProvider;

/// Installs rustls's ring provider as the process default when `url` asks for TLS and no
/// provider is installed yet.
///
/// Without a process default, rustls picks the provider from its own cargo features, and
/// panics when both `ring` and `aws-lc-rs` are enabled somewhere in the application's
/// dependencies. An application that installs its own provider keeps it, if it does so before
/// building the store.
pub(crate) fn prepare(url: &str) {
    if wants_tls(url) && CryptoProvider::get_default().is_none() {
        // Fails only when another thread installed one meanwhile, which is as good.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}

/// Root certificates to verify the server with, and no client certificate.
pub(crate) fn certificates(root_pem: &[u8]) -> TlsCertificates {
    TlsCertificates {
        client_tls: None,
        root_cert: Some(root_pem.to_vec()),
    }
}

fn wants_tls(url: &str) -> bool {
    ["rediss://", "valkeys://"].iter().any(|scheme| {
        url.get(..scheme.len())
            .is_some_and(|start| start.eq_ignore_ascii_case(scheme))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_schemes_are_recognised() {
        assert!(wants_tls("rediss://example.com"));
        assert!(wants_tls("REDISS://example.com"));
        assert!(wants_tls("valkeys://example.com"));
        assert!(!wants_tls("redis://example.com"));
        assert!(!wants_tls("redis"));
        assert!(!wants_tls("ré"));
    }
}
