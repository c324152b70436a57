//! TLS for the listeners: a certificate chain and its key from PEM files, checked to match
//! when loaded, served with ALPN `h2` and `http/1.1` on TLS 1.2 and 1.3 only, and reloaded in
//! place ([`Certificate::reload`], on SIGHUP or when the files change): connections already
//! open keep the certificate they were made with, new ones get the new one.

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::SystemTime;

/// A certificate served from two PEM files, reloadable.
#[derive(Debug)]
pub struct Certificate {
    cert_file: PathBuf,
    key_file: PathBuf,
    current: RwLock<Loaded>,
}

#[derive(Debug)]
struct Loaded {
    key: Arc<CertifiedKey>,
    /// The files' modification times when read, to notice a change.
    stamps: (Option<SystemTime>, Option<SystemTime>),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn modified(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Reads and checks a chain and key: every problem named with its file.
fn load(cert_file: &Path, key_file: &Path) -> Result<Loaded, String> {
    let stamps = (modified(cert_file), modified(key_file));
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_file)
        .map_err(|e| format!("{}: {e}", cert_file.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", cert_file.display()))?;
    if chain.is_empty() {
        return Err(format!("{}: no PEM certificate in it", cert_file.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("{}: no PEM private key in it ({e})", key_file.display()))?;
    let certified = CertifiedKey::from_der(chain, key, &provider()).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => format!(
            "{} is not the key of the certificate in {}",
            key_file.display(),
            cert_file.display()
        ),
        other => format!("{}: {other}", key_file.display()),
    })?;
    Ok(Loaded {
        key: Arc::new(certified),
        stamps,
    })
}

impl Certificate {
    /// Loads `cert_file` (the certificate, then its chain) and `key_file`; refuses files that
    /// are not PEM, and a key that is not the certificate's.
    pub fn load(cert_file: &Path, key_file: &Path) -> Result<Arc<Certificate>, String> {
        let loaded = load(cert_file, key_file)?;
        Ok(Arc::new(Certificate {
            cert_file: cert_file.to_owned(),
            key_file: key_file.to_owned(),
            current: RwLock::new(loaded),
        }))
    }

    /// Reads the files again and serves what they hold from the next handshake on; on any
    /// problem the certificate served so far stays, and the problem is returned.
    pub fn reload(&self) -> Result<(), String> {
        let loaded = load(&self.cert_file, &self.key_file)?;
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = loaded;
        Ok(())
    }

    /// True when either file changed since it was last read.
    pub fn files_changed(&self) -> bool {
        let current = self.current.read().unwrap_or_else(|e| e.into_inner());
        current.stamps != (modified(&self.cert_file), modified(&self.key_file))
    }

    /// The files, for log lines.
    pub fn describe(&self) -> String {
        format!(
            "{} and {}",
            self.cert_file.display(),
            self.key_file.display()
        )
    }

    /// A TLS acceptor serving this certificate: TLS 1.2 and 1.3, ALPN `h2` then `http/1.1`.
    pub fn acceptor(self: &Arc<Self>) -> Result<tokio_rustls::TlsAcceptor, String> {
        let mut config = rustls::ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .map_err(|e| e.to_string())?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(self) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
    }
}

/// Makes (once) a self-signed certificate for `localhost` and `127.0.0.1` in `dir`, for
/// development (`--tls-self-signed`): `self-signed.pem` (which clients may trust as their CA)
/// and `self-signed.key` (mode 0600). An existing pair is kept. Returns the two paths.
pub fn self_signed(dir: &Path) -> Result<(PathBuf, PathBuf), String> {
    let cert = dir.join("self-signed.pem");
    let key = dir.join("self-signed.key");
    if cert.exists() && key.exists() {
        return Ok((cert, key));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let made =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .map_err(|e| format!("making a self-signed certificate: {e}"))?;
    let write = |path: &Path, text: String, mode: u32| -> Result<(), String> {
        use std::io::Write;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
        let _ = mode;
        let mut file = options
            .open(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        file.write_all(text.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    write(&key, made.key_pair.serialize_pem(), 0o600)?;
    write(&cert, made.cert.pem(), 0o644)?;
    Ok((cert, key))
}

impl ResolvesServerCert for Certificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(
            &self.current.read().unwrap_or_else(|e| e.into_inner()).key,
        ))
    }
}
