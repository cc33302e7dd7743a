//! Settings: flags > `MOTCUA_*` environment > TOML file > defaults. Unknown keys are errors, so a
//! typo never silently falls back to a default.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::PathBuf;

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Every setting of motcua.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Address the HTTP server listens on.
    pub addr: SocketAddr,
    /// Directory for the SQLite database, uploaded files and the lock.
    pub data_dir: PathBuf,
    /// `postgres://…` to use PostgreSQL instead of embedded SQLite.
    pub database: Option<String>,
    /// Load Lạng Sơn demo data and accounts.
    pub demo: bool,
    /// Log format.
    pub log_format: LogFormat,
    /// Log filter, e.g. `info` or `motcua=debug,info`.
    pub log_level: String,
    /// Province name shown on pages.
    pub province_name: String,
    /// Seconds in-flight requests get to finish after a shutdown signal.
    pub shutdown_grace_secs: u64,
    /// Mark cookies Secure (set when served over HTTPS, directly or behind a proxy).
    pub cookie_secure: bool,
    /// OpenID Connect issuer URL (VNeID, the national portal's SSO…); single sign-on is off without it.
    pub oidc_issuer: Option<String>,
    /// Client id registered with the issuer.
    pub oidc_client_id: Option<String>,
    /// Client secret (never logged).
    pub oidc_client_secret: Option<String>,
    /// This site's callback URL, ending in /login/oidc/callback.
    pub oidc_redirect_url: Option<String>,
    /// Text of the sign-on button.
    pub oidc_label: String,
    /// Claim with the person's name.
    pub oidc_claim_name: String,
    /// Claim with the email.
    pub oidc_claim_email: String,
    /// Claim with the phone number.
    pub oidc_claim_phone: String,
    /// PEM file of certificate authorities to trust for the provider, besides the public ones
    /// (a provider on the province's own network).
    pub oidc_ca_file: Option<PathBuf>,
    /// SMTP server for outbox email: `smtp://host:25`, `smtp://user:pass@host:587?tls=required`,
    /// `smtps://user:pass@host:465`. Without it, email waits in the outbox.
    pub smtp_url: Option<String>,
    /// Sender of outbox email.
    pub mail_from: String,
    /// Identifier of the receiving agency that starts every dossier code (QCVN shape, e.g.
    /// `000.00.00.H37`).
    pub dossier_code_prefix: String,
    /// Minimum digits of the daily sequence in dossier codes (4–8).
    pub dossier_sequence_width: usize,
    /// Largest file a dossier accepts, in MB.
    pub upload_max_file_mb: u64,
    /// Largest total of a dossier's files, in MB.
    pub upload_max_dossier_mb: u64,
    /// Public address of the portal, printed in QR codes (`https://dichvucong.example.vn`);
    /// taken from each request's Host header when unset.
    pub public_url: Option<String>,
    /// The SMS brandname gateway (`[sms]`); without it, SMS waits in the outbox (with `--demo`,
    /// the built-in sandbox takes its place).
    pub sms: Option<SmsSettings>,
    /// Zalo ZNS (`[zalo]`), tried before SMS for dossier notices.
    pub zalo: Option<ZaloSettings>,
    /// Where the server writes a backup of the embedded installation once a day (none: no
    /// scheduled backups; `motcua backup` still works).
    pub backup_dir: Option<PathBuf>,
    /// Complete backups kept in `backup_dir`; older ones are removed after each new one.
    pub backup_keep: usize,
    /// `[files]`: where the files of dossiers are kept (none: in the data dir).
    pub files: Option<FilesSettings>,
}

/// `[files]`: `store = "s3"` keeps files in an S3-compatible object store, which several nodes
/// on one PostgreSQL share; `store = "data_dir"` (the default) keeps them in the data dir. The
/// secret key is given as `env:NAME` or `file:/path`, or literally.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct FilesSettings {
    /// `data_dir` or `s3`.
    pub store: String,
    /// Bucket name.
    pub bucket: String,
    /// Key prefix inside the bucket.
    pub prefix: String,
    /// Endpoint of an S3-compatible server; empty for AWS itself.
    pub endpoint: String,
    /// Region (`us-east-1` when empty).
    pub region: String,
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key (`env:NAME`, `file:/path` or literal).
    pub secret_access_key: String,
}

/// `[sms]`: which provider, and what the brandname contract says. Secrets (`password`,
/// `receipt_token`) are given as `env:NAME` or `file:/path`, or literally.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct SmsSettings {
    /// `vnpt` or `viettel`.
    pub provider: String,
    /// The provider's endpoint.
    pub url: String,
    /// The registered sender name.
    pub brandname: String,
    /// Whether the contract allows Vietnamese diacritics (UCS-2); most do not.
    pub unicode: bool,
    /// Segments the template is priced for (default 2).
    pub max_segments: Option<usize>,
    /// API user (VNPT `APIUSER`, Viettel `User`).
    pub user: String,
    /// API password (VNPT `APIPASS`, Viettel `Password`).
    pub password: String,
    /// VNPT: `LABELID`.
    pub label_id: String,
    /// VNPT: `CONTRACTTYPEID` (1 customer care).
    pub contract_type_id: String,
    /// VNPT: `CONTRACTID`.
    pub contract_id: String,
    /// VNPT: `TEMPLATEID`, the registered template whose one parameter is the text.
    pub template_id: String,
    /// VNPT: `AGENTID`.
    pub agent_id: String,
    /// VNPT: `USERNAME`.
    pub username: String,
    /// Viettel: `CPCode`.
    pub cp_code: String,
    /// Viettel: `CommandCode` (default `bulksms`).
    pub command_code: String,
    /// The secret the provider's receipt URL carries (`/hooks/receipts/sms?token=…`).
    pub receipt_token: Option<String>,
    /// What one segment costs under the contract, in đồng (for the delivery report).
    pub price_per_segment: u32,
    /// Messages a second the contract allows, over all nodes (none: no limit).
    pub rate_per_second: Option<u32>,
    /// Messages a day the contract allows, over all nodes (none: no limit).
    pub daily_quota: Option<u32>,
}

/// `[zalo]`: the OA's app and the approved template of dossier notices.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct ZaloSettings {
    /// ZNS API base (default `https://business.openapi.zalo.me`).
    pub api_base: String,
    /// Token renewal endpoint (default `https://oauth.zaloapp.com/v4/oa/access_token`).
    pub oauth_url: String,
    /// The Zalo app's id.
    pub app_id: String,
    /// The app's secret key (also signs Zalo's webhook events).
    pub secret_key: String,
    /// The approved ZNS template of dossier notices.
    pub template_id: String,
    /// Its parameter for the notice's title (default `tieu_de`).
    pub title_param: String,
    /// Its parameter for the notice's text (default `noi_dung`).
    pub body_param: String,
    /// The refresh token of the OA's first authorisation; stored once, then renewed in the
    /// database (Zalo's refresh tokens are single use).
    pub refresh_token: Option<String>,
    /// Seconds Zalo has to confirm a notice before SMS takes over (default 300).
    pub fallback_after_secs: Option<u64>,
    /// What one ZNS message of the template costs, in đồng.
    pub zns_price: u32,
    /// ZNS messages a second, over all nodes (none: no limit).
    pub rate_per_second: Option<u32>,
    /// The OA's daily ZNS quota, over all nodes (none: no limit).
    pub daily_quota: Option<u32>,
    /// The Official Account's id: with it, notices go to the OA's followers first and applicants
    /// can follow their dossiers on Zalo.
    pub oa_id: Option<String>,
    /// The OA's name as people see it in Zalo (default "Cổng Dịch vụ công").
    pub oa_name: String,
    /// OA API base (default `https://openapi.zalo.me`).
    pub oa_api_base: String,
    /// What one OA transaction message costs, in đồng.
    pub oa_price: u32,
}

/// Names of every setting, for the unknown-key message.
pub const KNOWN_KEYS: &[&str] = &[
    "addr",
    "data_dir",
    "database",
    "demo",
    "log_format",
    "log_level",
    "province_name",
    "shutdown_grace_secs",
    "cookie_secure",
    "oidc_issuer",
    "oidc_client_id",
    "oidc_client_secret",
    "oidc_redirect_url",
    "oidc_label",
    "oidc_claim_name",
    "oidc_claim_email",
    "oidc_claim_phone",
    "oidc_ca_file",
    "smtp_url",
    "mail_from",
    "dossier_code_prefix",
    "dossier_sequence_width",
    "upload_max_file_mb",
    "upload_max_dossier_mb",
    "public_url",
    "sms",
    "zalo",
    "backup_dir",
    "backup_keep",
    "files",
];

impl Default for Settings {
    fn default() -> Self {
        Settings {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("./motcua-data"),
            database: None,
            demo: false,
            log_format: LogFormat::Text,
            log_level: "info".to_owned(),
            province_name: "Lạng Sơn".to_owned(),
            shutdown_grace_secs: 30,
            cookie_secure: false,
            oidc_issuer: None,
            oidc_client_id: None,
            oidc_client_secret: None,
            oidc_redirect_url: None,
            oidc_label: "VNeID".to_owned(),
            oidc_claim_name: "name".to_owned(),
            oidc_claim_email: "email".to_owned(),
            oidc_claim_phone: "phone_number".to_owned(),
            oidc_ca_file: None,
            smtp_url: None,
            mail_from: "Cổng Dịch vụ công <no-reply@localhost>".to_owned(),
            dossier_code_prefix: motcua_web::DEFAULT_CODE_PREFIX.to_owned(),
            dossier_sequence_width: 4,
            upload_max_file_mb: 10,
            upload_max_dossier_mb: 50,
            public_url: None,
            sms: None,
            zalo: None,
            backup_dir: None,
            backup_keep: 7,
            files: None,
        }
    }
}

/// Settings given on the command line; `None` leaves the lower layers in charge.
#[derive(Debug, Default, Clone, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub demo: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_level: Option<String>,
}

impl Settings {
    /// The single sign-on configuration, if an issuer is set; every other OIDC setting is then
    /// required.
    pub fn oidc(&self) -> Result<Option<motcua_web::oidc::OidcConfig>, ConfigError> {
        let Some(issuer) = self.oidc_issuer.clone().filter(|s| !s.trim().is_empty()) else {
            return Ok(None);
        };
        let local =
            issuer.starts_with("http://127.0.0.1") || issuer.starts_with("http://localhost");
        if !issuer.starts_with("https://") && !local {
            return Err(ConfigError(format!(
                "oidc_issuer: '{issuer}' must be an https:// URL"
            )));
        }
        let need = |key: &str, v: &Option<String>| {
            v.clone()
                .filter(|s| !s.trim().is_empty())
                .ok_or_else(|| ConfigError(format!("{key}: required when oidc_issuer is set")))
        };
        if let Some(path) = &self.oidc_ca_file {
            let pem = std::fs::read_to_string(path)
                .map_err(|e| ConfigError(format!("oidc_ca_file: {}: {e}", path.display())))?;
            if !pem.contains("-----BEGIN CERTIFICATE-----") {
                return Err(ConfigError(format!(
                    "oidc_ca_file: {} holds no PEM certificate",
                    path.display()
                )));
            }
        }
        Ok(Some(motcua_web::oidc::OidcConfig {
            issuer,
            client_id: need("oidc_client_id", &self.oidc_client_id)?,
            client_secret: need("oidc_client_secret", &self.oidc_client_secret)?,
            redirect_url: need("oidc_redirect_url", &self.oidc_redirect_url)?,
            label: self.oidc_label.clone(),
            claim_name: self.oidc_claim_name.clone(),
            claim_email: self.oidc_claim_email.clone(),
            claim_phone: self.oidc_claim_phone.clone(),
            ca_file: self.oidc_ca_file.clone(),
        }))
    }
}

impl Settings {
    /// The submission settings, checked: a bad prefix, width or limit names its setting.
    pub fn dossiers(&self) -> Result<motcua_web::DossierSettings, ConfigError> {
        let prefix = self
            .dossier_code_prefix
            .parse()
            .map_err(|e| ConfigError(format!("dossier_code_prefix: {e}")))?;
        if !(4..=8).contains(&self.dossier_sequence_width) {
            return Err(ConfigError(format!(
                "dossier_sequence_width: {} must be between 4 and 8",
                self.dossier_sequence_width
            )));
        }
        if self.upload_max_file_mb == 0 || self.upload_max_file_mb > 1000 {
            return Err(ConfigError(format!(
                "upload_max_file_mb: {} must be between 1 and 1000",
                self.upload_max_file_mb
            )));
        }
        if self.upload_max_dossier_mb < self.upload_max_file_mb
            || self.upload_max_dossier_mb > 10_000
        {
            return Err(ConfigError(format!(
                "upload_max_dossier_mb: {} must be at least upload_max_file_mb ({}) and at most 10000",
                self.upload_max_dossier_mb, self.upload_max_file_mb
            )));
        }
        let public_url = match self
            .public_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
        {
            None => None,
            Some(u) if u.starts_with("https://") || u.starts_with("http://") => Some(u.to_owned()),
            Some(u) => {
                return Err(ConfigError(format!(
                    "public_url: '{u}' must start with https:// or http://"
                )))
            }
        };
        Ok(motcua_web::DossierSettings {
            codes: motcua_store::dossiers::CodeSettings {
                prefix,
                width: self.dossier_sequence_width,
            },
            limits: motcua_core::dossier::UploadLimits {
                per_file: self.upload_max_file_mb * 1_000_000,
                per_dossier: self.upload_max_dossier_mb * 1_000_000,
                ..Default::default()
            },
            hours: motcua_core::calendar::deadline::OfficeHours::default(),
            public_url,
        })
    }
}

/// A configuration problem, worded as one line that names the setting.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

/// Variables with the prefix that are not settings: the config file path and test switches.
fn is_setting_var(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    key != "config" && !key.starts_with("test_")
}

/// Resolves the settings from all layers.
pub fn load(
    file: Option<&std::path::Path>,
    overrides: &Overrides,
) -> Result<Settings, ConfigError> {
    let mut figment = Figment::from(Serialized::defaults(Settings::default()));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigError(format!(
                "config: file {} does not exist or is not a file",
                path.display()
            )));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment
        .merge(Env::prefixed("MOTCUA_").filter(|k| is_setting_var(k.as_str())))
        .merge(Serialized::defaults(overrides));
    figment.extract().map_err(|e| ConfigError(describe(e)))
}

fn describe(error: figment::Error) -> String {
    let key = error.path.join(".");
    let source = match &error.metadata {
        // Name the exact variable rather than figment's generic "`MOTCUA_` environment variable(s)".
        Some(m) if m.name.contains("environment") && !key.is_empty() => {
            format!("environment variable MOTCUA_{}", key.to_ascii_uppercase())
        }
        Some(m) => match &m.source {
            Some(s) => format!("{} ({s})", m.name),
            None => m.name.to_string(),
        },
        None => "configuration".to_owned(),
    };
    match &error.kind {
        figment::error::Kind::UnknownField(name, _) => format!(
            "{name}: unknown setting in {source}; known settings: {}",
            KNOWN_KEYS.join(", ")
        ),
        kind => {
            let key = if key.is_empty() {
                "config".to_owned()
            } else {
                key
            };
            format!("{key}: {kind} (from {source})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_toml(text: &str) -> Result<Settings, ConfigError> {
        let dir = std::env::temp_dir().join(format!("motcua-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| ConfigError(e.to_string()))?;
        let path = dir.join(format!("{}.toml", text.len()));
        std::fs::write(&path, text).map_err(|e| ConfigError(e.to_string()))?;
        load(Some(&path), &Overrides::default())
    }

    #[test]
    fn test_switches_and_the_config_path_are_not_settings() {
        assert!(!is_setting_var("TEST_REQUIRE_ALL"));
        assert!(!is_setting_var("CONFIG"));
        assert!(is_setting_var("DATA_DIR"));
    }

    #[test]
    fn defaults_match_the_documented_ones() {
        let s = Settings::default();
        assert_eq!(s.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.data_dir, PathBuf::from("./motcua-data"));
        assert!(s.database.is_none());
    }

    #[test]
    fn an_unknown_key_names_itself() {
        let err = load_toml("colour = \"red\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("colour: unknown setting"), "{err}");
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let err = load_toml("addr = \"not an address\"\n")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(err.starts_with("addr:"), "{err}");
    }

    #[test]
    fn flags_override_the_file() {
        let dir = std::env::temp_dir().join(format!("motcua-config-o-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let path = dir.join("o.toml");
        let _ = std::fs::write(
            &path,
            "addr = \"127.0.0.1:9000\"\nprovince_name = \"Cao Bằng\"\n",
        );
        let overrides = Overrides {
            addr: Some(SocketAddr::from(([127, 0, 0, 1], 9001))),
            ..Overrides::default()
        };
        let s = load(Some(&path), &overrides).ok();
        assert_eq!(s.as_ref().map(|s| s.addr.port()), Some(9001));
        assert_eq!(s.map(|s| s.province_name), Some("Cao Bằng".to_owned()));
    }
}
