//! Builds the delivery gateways from the settings, or, for `--demo` without `[sms]`, starts the
//! providers' sandbox in this process and points real VNPT SMS and Zalo ZNS clients at it, so that
//! phone-only registration and Zalo notices work out of the box.

use crate::config::{ConfigError, FilesSettings, Settings, SmsSettings, ZaloSettings};
use motcua_gateways::secret;
use motcua_gateways::sms::viettel::{ViettelConfig, ViettelSms};
use motcua_gateways::sms::vnpt::{VnptConfig, VnptSms};
use motcua_gateways::sms::{Contract, SmsGateway};
use motcua_gateways::zalo::{Oa, OaConfig, Zns, ZnsConfig};
use motcua_store::files::FilesConfig;
use motcua_store::objects::ObjectSettings;
use motcua_store::Store;
use motcua_web::{Gateways, ZaloFollow};
use std::sync::Arc;
use std::time::Duration;

/// Each provider call's time limit.
const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The row of the OA's tokens.
const ZALO_TOKENS: &str = "zalo";

fn need(section: &str, key: &str, v: &str) -> Result<String, ConfigError> {
    if v.trim().is_empty() {
        Err(ConfigError(format!("{section}.{key}: required")))
    } else {
        Ok(v.trim().to_owned())
    }
}

fn secret_of(section: &str, key: &str, v: &str) -> Result<String, ConfigError> {
    secret(&need(section, key, v)?).map_err(|e| ConfigError(format!("{section}.{key}: {e}")))
}

/// Where `[files]` says the files of dossiers are kept, checked.
pub fn files(f: Option<&FilesSettings>) -> Result<FilesConfig, ConfigError> {
    let Some(f) = f else {
        return Ok(FilesConfig::DataDir);
    };
    match f.store.trim() {
        "" | "data_dir" => return Ok(FilesConfig::DataDir),
        "s3" => {}
        other => {
            return Err(ConfigError(format!(
                "files.store: '{other}' is neither 'data_dir' nor 's3'"
            )))
        }
    }
    let endpoint = f.endpoint.trim().trim_end_matches('/').to_owned();
    let loopback = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
        .iter()
        .any(|p| endpoint.starts_with(p));
    if !endpoint.is_empty() && !endpoint.starts_with("https://") && !loopback {
        return Err(ConfigError(format!(
            "files.endpoint: '{endpoint}' must be an https:// URL (plain http only on this machine)"
        )));
    }
    Ok(FilesConfig::Objects(ObjectSettings {
        bucket: need("files", "bucket", &f.bucket)?,
        prefix: f.prefix.trim().to_owned(),
        endpoint,
        region: f.region.trim().to_owned(),
        access_key_id: need("files", "access_key_id", &f.access_key_id)?,
        secret_access_key: secret_of("files", "secret_access_key", &f.secret_access_key)?,
        allow_http: loopback,
    }))
}

/// The SMS gateway `[sms]` describes, checked.
pub fn sms(s: &SmsSettings) -> Result<SmsGateway, ConfigError> {
    let url = need("sms", "url", &s.url)?;
    if !(url.starts_with("https://")
        || url.starts_with("http://127.0.0.1")
        || url.starts_with("http://localhost"))
    {
        return Err(ConfigError(format!(
            "sms.url: '{url}' must be an https:// URL"
        )));
    }
    let max_segments = s.max_segments.unwrap_or(2);
    if !(1..=10).contains(&max_segments) {
        return Err(ConfigError(format!(
            "sms.max_segments: {max_segments} must be between 1 and 10"
        )));
    }
    let contract = Contract {
        brandname: need("sms", "brandname", &s.brandname)?,
        unicode: s.unicode,
        max_segments,
        price_per_segment: s.price_per_segment,
    };
    let user = need("sms", "user", &s.user)?;
    let password = secret_of("sms", "password", &s.password)?;
    let built = match s.provider.as_str() {
        "vnpt" => VnptSms::new(
            VnptConfig {
                url,
                contract,
                label_id: need("sms", "label_id", &s.label_id)?,
                contract_type_id: if s.contract_type_id.is_empty() {
                    "1".into()
                } else {
                    s.contract_type_id.clone()
                },
                contract_id: need("sms", "contract_id", &s.contract_id)?,
                template_id: need("sms", "template_id", &s.template_id)?,
                agent_id: need("sms", "agent_id", &s.agent_id)?,
                api_user: user,
                api_pass: password,
                username: need("sms", "username", &s.username)?,
            },
            PROVIDER_TIMEOUT,
        )
        .map(SmsGateway::Vnpt),
        "viettel" => ViettelSms::new(
            ViettelConfig {
                url,
                contract,
                user,
                password,
                cp_code: need("sms", "cp_code", &s.cp_code)?,
                command_code: if s.command_code.is_empty() {
                    "bulksms".into()
                } else {
                    s.command_code.clone()
                },
            },
            PROVIDER_TIMEOUT,
        )
        .map(SmsGateway::Viettel),
        other => {
            return Err(ConfigError(format!(
                "sms.provider: '{other}' is not a provider (vnpt, viettel)"
            )))
        }
    };
    built.map_err(|e| ConfigError(format!("sms: {e}")))
}

fn zns_config(z: &ZaloSettings) -> Result<ZnsConfig, ConfigError> {
    let or = |v: &str, d: &str| {
        if v.trim().is_empty() {
            d.to_owned()
        } else {
            v.trim().to_owned()
        }
    };
    Ok(ZnsConfig {
        api_base: or(&z.api_base, "https://business.openapi.zalo.me"),
        oauth_url: or(&z.oauth_url, "https://oauth.zaloapp.com/v4/oa/access_token"),
        app_id: need("zalo", "app_id", &z.app_id)?,
        secret_key: secret_of("zalo", "secret_key", &z.secret_key)?,
        template_id: need("zalo", "template_id", &z.template_id)?,
        title_param: or(&z.title_param, "tieu_de"),
        body_param: or(&z.body_param, "noi_dung"),
        price: z.zns_price,
    })
}

/// A pace from its settings: a limit of 0 would stop the provider for good, so it is refused.
fn pace(
    section: &str,
    per_second: Option<u32>,
    per_day: Option<u32>,
) -> Result<motcua_delivery::Pace, ConfigError> {
    for (key, v) in [("rate_per_second", per_second), ("daily_quota", per_day)] {
        if v == Some(0) {
            return Err(ConfigError(format!(
                "{section}.{key}: 0 would stop every message; leave it out for no limit"
            )));
        }
    }
    Ok(motcua_delivery::Pace {
        per_second,
        per_day,
    })
}

/// Every gateway the settings describe, with their receipt keys; the OA's first refresh token is
/// stored if none is yet. Without `[sms]` under `--demo`, the sandbox is started and used; its
/// address is returned to be shown.
pub async fn build(
    settings: &Settings,
    store: &Arc<Store>,
    mailer: Option<motcua_gateways::SmtpMailer>,
    local: std::net::SocketAddr,
) -> Result<(Gateways, Option<String>), ConfigError> {
    let mut g = Gateways {
        email: mailer.map(Arc::new),
        ..Gateways::default()
    };
    let mut sandbox_url = None;
    let (sms_settings, zalo_settings) = match (&settings.sms, settings.demo) {
        (None, true) => {
            let (sms, zalo, url) = demo_sandbox(local).await?;
            sandbox_url = Some(url);
            (Some(sms), Some(zalo))
        }
        _ => (settings.sms.clone(), settings.zalo.clone()),
    };
    if let Some(s) = &sms_settings {
        g.sms = Some(Arc::new(sms(s)?));
        g.sms_pace = pace("sms", s.rate_per_second, s.daily_quota)?;
        g.receipts.sms_token = s
            .receipt_token
            .as_deref()
            .map(|t| secret(t).map_err(|e| ConfigError(format!("sms.receipt_token: {e}"))))
            .transpose()?;
    }
    if let Some(z) = &zalo_settings {
        let config = zns_config(z)?;
        if sandbox_url.is_some() {
            store
                .forget_provider_tokens(ZALO_TOKENS)
                .await
                .map_err(|e| ConfigError(format!("zalo: tokens not reset: {e}")))?;
        }
        if let Some(first) = z.refresh_token.as_deref() {
            let first =
                secret(first).map_err(|e| ConfigError(format!("zalo.refresh_token: {e}")))?;
            // Stored only when none is: a restart must not bring back a spent token.
            store
                .replace_provider_tokens(ZALO_TOKENS, None, "", &first, 0)
                .await
                .map_err(|e| ConfigError(format!("zalo: tokens not stored: {e}")))?;
        }
        g.receipts.zalo = Some((config.app_id.clone(), config.secret_key.clone()));
        let tokens = motcua_delivery::StoreTokens {
            store: store.clone(),
            provider: ZALO_TOKENS,
        };
        let zns = Zns::new(config, tokens, PROVIDER_TIMEOUT)
            .map_err(|e| ConfigError(format!("zalo: {e}")))?;
        g.zalo_pace = pace("zalo", z.rate_per_second, z.daily_quota)?;
        if let Some(oa_id) = &z.oa_id {
            let oa_id = need("zalo", "oa_id", oa_id)?;
            if !oa_id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError(format!(
                    "zalo.oa_id: '{oa_id}' is not an Official Account id (digits)"
                )));
            }
            let api_base = if z.oa_api_base.trim().is_empty() {
                "https://openapi.zalo.me".to_owned()
            } else {
                z.oa_api_base.trim().to_owned()
            };
            g.oa = Some(Arc::new(Oa::new(
                OaConfig {
                    api_base,
                    price: z.oa_price,
                },
                zns.session(),
            )));
            g.zalo_follow = Some(ZaloFollow {
                oa_name: if z.oa_name.trim().is_empty() {
                    "Cổng Dịch vụ công".to_owned()
                } else {
                    z.oa_name.trim().to_owned()
                },
                oa_url: format!("https://zalo.me/{oa_id}"),
            });
        }
        g.zalo = Some(Arc::new(zns));
        if let Some(secs) = z.fallback_after_secs {
            g.sweep.zalo_fallback_after =
                time::Duration::seconds(i64::try_from(secs).unwrap_or(300));
        }
    }
    g.phones_page.clone_from(&sandbox_url);
    Ok((g, sandbox_url))
}

/// Starts the sandbox beside the demo and describes it as if it were the province's contracts,
/// with the sandbox's published test credentials. Receipts come back to this server.
async fn demo_sandbox(
    local: std::net::SocketAddr,
) -> Result<(SmsSettings, ZaloSettings, String), ConfigError> {
    use motcua_sandbox::credentials as c;
    let token = motcua_store::accounts::new_secret();
    let sandbox = motcua_sandbox::Sandbox::start(
        std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
        motcua_sandbox::Settings {
            sms_receipts: Some(format!("http://{local}/hooks/receipts/sms?token={token}")),
            zalo_webhook: Some(format!("http://{local}/hooks/receipts/zalo")),
            ..motcua_sandbox::Settings::default()
        },
    )
    .await
    .map_err(|e| ConfigError(format!("sandbox: cannot start: {e}")))?;
    let base = sandbox.url();
    let sms = SmsSettings {
        provider: "vnpt".into(),
        url: format!("{base}/vnpt/send_sms_list"),
        brandname: "UBND LANGSON".into(),
        unicode: false,
        max_segments: Some(2),
        user: c::VNPT_USER.into(),
        password: c::VNPT_PASS.into(),
        label_id: "1001".into(),
        contract_type_id: "1".into(),
        contract_id: "2001".into(),
        template_id: "3001".into(),
        agent_id: "244".into(),
        username: "langson".into(),
        receipt_token: Some(token),
        price_per_segment: 800,
        ..SmsSettings::default()
    };
    let zalo = ZaloSettings {
        api_base: format!("{base}/zalo"),
        oauth_url: format!("{base}/zalo/oauth/access_token"),
        app_id: c::ZALO_APP_ID.into(),
        secret_key: c::ZALO_SECRET.into(),
        template_id: c::ZNS_TEMPLATE.into(),
        refresh_token: Some(c::ZALO_FIRST_REFRESH.into()),
        fallback_after_secs: Some(30),
        zns_price: 300,
        oa_id: Some(c::ZALO_OA_ID.into()),
        oa_name: "UBND tỉnh Lạng Sơn".into(),
        oa_api_base: format!("{base}/zalo"),
        oa_price: 100,
        ..ZaloSettings::default()
    };
    Ok((sms, zalo, base))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s3(edit: impl FnOnce(&mut FilesSettings)) -> Result<FilesConfig, ConfigError> {
        let mut f = FilesSettings {
            store: "s3".into(),
            bucket: "motcua".into(),
            prefix: "langson".into(),
            endpoint: "https://s3.langson.gov.vn".into(),
            region: String::new(),
            access_key_id: "motcua".into(),
            secret_access_key: "bi-mat".into(),
        };
        edit(&mut f);
        files(Some(&f))
    }

    fn error(r: Result<FilesConfig, ConfigError>) -> String {
        match r {
            Err(e) => e.0,
            Ok(c) => panic!("accepted: {c:?}"),
        }
    }

    #[test]
    fn object_store_settings_are_checked_and_each_fault_is_named() {
        assert_eq!(files(None).ok(), Some(FilesConfig::DataDir));
        assert!(matches!(s3(|_| {}), Ok(FilesConfig::Objects(o)) if !o.allow_http));
        assert!(error(s3(|f| f.store = "ftp".into())).starts_with("files.store: 'ftp'"));
        assert_eq!(error(s3(|f| f.bucket.clear())), "files.bucket: required");
        assert_eq!(
            error(s3(
                |f| f.secret_access_key = "env:MOTCUA_TEST_NO_SUCH_VAR".into()
            )),
            "files.secret_access_key: environment variable MOTCUA_TEST_NO_SUCH_VAR is not set"
        );
        let plain = error(s3(|f| f.endpoint = "http://s3.langson.gov.vn".into()));
        assert!(plain.contains("must be an https:// URL"), "{plain}");
        // Plain http only to a store on this machine.
        assert!(matches!(
            s3(|f| f.endpoint = "http://127.0.0.1:9000".into()),
            Ok(FilesConfig::Objects(o)) if o.allow_http
        ));
        // A prefix that climbs out of its place is refused when the store opens.
        let Ok(FilesConfig::Objects(o)) = s3(|f| f.prefix = "langson/../khac".into()) else {
            panic!("prefix is checked by the store");
        };
        let e = motcua_store::objects::ObjectFiles::open(&o)
            .err()
            .expect("refused");
        assert!(e.to_string().contains("'..'"), "{e}");
    }
}
