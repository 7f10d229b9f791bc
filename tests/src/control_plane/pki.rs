//! Throwaway PKI for one control plane: a CA, the kube-apiserver's serving certificate (X.509
//! v3, with the SANs kube-rs's rustls stack checks) and the service-account signing key.

use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

/// The PEM files of one control plane, written into its data folder.
#[derive(Debug, Clone)]
pub struct Pki {
    /// The CA certificate (`--client-ca-file`, `--root-ca-file`, kubeconfigs).
    pub ca_cert: PathBuf,
    /// The CA certificate's PEM text (for kubeconfigs).
    pub ca_pem: String,
    /// The kube-apiserver's serving certificate.
    pub server_cert: PathBuf,
    /// Its key.
    pub server_key: PathBuf,
    /// The service-account signing key (ECDSA P-256, PKCS#8).
    pub service_account_key: PathBuf,
    /// Its public half (`--service-account-key-file`).
    pub service_account_public_key: PathBuf,
}

/// Errors making the PKI.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// rcgen refused a certificate or key.
    #[error("generating {what}: {source}")]
    Generate {
        /// Which item.
        what: &'static str,
        /// Cause.
        #[source]
        source: rcgen::Error,
    },
    /// A file could not be written.
    #[error("writing {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

fn generate(what: &'static str) -> impl Fn(rcgen::Error) -> PkiError {
    move |source| PkiError::Generate { what, source }
}

fn write(dir: &Path, name: &str, pem: &str) -> Result<PathBuf, PkiError> {
    let path = dir.join(name);
    std::fs::write(&path, pem).map_err(|source| PkiError::Write {
        path: path.display().to_string(),
        source,
    })?;
    Ok(path)
}

/// Makes a CA, a serving certificate for 127.0.0.1 / localhost / the in-cluster names, and a
/// service-account key, and writes them into `dir`.
pub fn create(dir: &Path) -> Result<Pki, PkiError> {
    let ca_key = KeyPair::generate().map_err(generate("the CA key"))?;
    let mut ca_params = CertificateParams::default();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "reload-rs test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params
        .self_signed(&ca_key)
        .map_err(generate("the CA certificate"))?;
    let ca_pem = ca_cert.pem();
    let issuer = Issuer::new(ca_params, ca_key);

    let server_key = KeyPair::generate().map_err(generate("the server key"))?;
    let mut server_params = CertificateParams::new(vec![
        "localhost".to_owned(),
        "kubernetes".to_owned(),
        "kubernetes.default".to_owned(),
        "kubernetes.default.svc".to_owned(),
    ])
    .map_err(generate("the server certificate's names"))?;
    server_params
        .subject_alt_names
        .push(SanType::IpAddress(std::net::Ipv4Addr::LOCALHOST.into()));
    server_params
        .distinguished_name
        .push(DnType::CommonName, "kube-apiserver");
    server_params.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    server_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let server_cert = server_params
        .signed_by(&server_key, &issuer)
        .map_err(generate("the server certificate"))?;

    let service_account_key = KeyPair::generate().map_err(generate("the service-account key"))?;

    Ok(Pki {
        ca_cert: write(dir, "ca.crt", &ca_pem)?,
        server_cert: write(dir, "apiserver.crt", &server_cert.pem())?,
        server_key: write(dir, "apiserver.key", &server_key.serialize_pem())?,
        service_account_key: write(dir, "service-account.key", &service_account_key.serialize_pem())?,
        service_account_public_key: write(dir, "service-account.pub", &service_account_key.public_key_pem())?,
        ca_pem,
    })
}
