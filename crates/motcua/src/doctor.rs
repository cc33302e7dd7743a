//! `motcua doctor`: what an installation has left as the demo or the defaults left it, which a
//! province must not run with. Each finding names the setting and what to do; the exit status
//! is 1 when there is any.

use crate::config::Settings;
use crate::{config_failure, Failure};
use motcua_store::demo::{DEMO_ACCOUNTS, DEMO_PASSWORD};
use motcua_store::Store;

/// Exit status when something needs fixing.
const FINDINGS: u8 = 1;

/// The findings of the settings alone, without the database.
pub fn check_settings(s: &Settings) -> Vec<String> {
    let mut out = Vec::new();
    if s.dossier_code_prefix == motcua_web::DEFAULT_CODE_PREFIX {
        out.push(format!(
            "dossier_code_prefix: still the placeholder {}; set the receiving agency's code \
             (QCVN 102:2016, e.g. 000.00.00.H37) before the first dossier is numbered",
            motcua_web::DEFAULT_CODE_PREFIX
        ));
    }
    let https = s
        .public_url
        .as_deref()
        .is_some_and(|u| u.starts_with("https://"));
    if https && !s.cookie_secure {
        out.push(
            "cookie_secure: off while public_url is https://; sessions would also travel over \
             plain HTTP. Set cookie_secure = true"
                .to_owned(),
        );
    }
    if s.public_url.is_none() && !s.demo {
        out.push(
            "public_url: not set; QR codes on receipts take the address from each request's Host \
             header. Set the portal's public https:// address"
                .to_owned(),
        );
    }
    if s.smtp_url.is_none() && !s.demo {
        out.push("smtp_url: not set; email codes and notices wait in the outbox".to_owned());
    }
    if s.sms.is_none() && !s.demo {
        out.push("[sms]: not set; codes to phones and SMS notices wait in the outbox".to_owned());
    }
    if s.database.is_none() {
        match &s.backup_dir {
            None => out.push(
                "backup_dir: not set; the server takes no backups of this embedded installation \
                 (see docs/operations.md)"
                    .to_owned(),
            ),
            Some(dir) => match motcua_store::backup::newest_age(dir) {
                None => out.push(format!(
                    "backup_dir: no complete backup in {} yet",
                    dir.display()
                )),
                Some(age) if age > time::Duration::hours(24) => out.push(format!(
                    "backup_dir: the newest backup in {} is {} hours old",
                    dir.display(),
                    age.whole_hours()
                )),
                Some(_) => {}
            },
        }
    }
    out
}

/// Checks the settings and the database; prints every finding.
pub async fn run(settings: &Settings) -> Result<(), Failure> {
    let mut findings = check_settings(settings);
    if !settings.demo {
        let config = crate::store_config(settings)?;
        let store = Store::open_shared(&config).await.map_err(config_failure)?;
        if config.database.is_some() && !store.blobs().is_object_store() {
            findings.push(
                "files: PostgreSQL with files in the data dir: a file received by one node \
                 cannot be served by another; set [files] store = \"s3\""
                    .to_owned(),
            );
        }
        if let Err(e) = store.blobs().check().await {
            findings.push(format!(
                "files: {} does not take a file and give it back: {e}",
                store.blobs().describe()
            ));
        }
        let mut demo_left = Vec::new();
        for a in DEMO_ACCOUNTS {
            let record = store.login_record(a.username).await;
            if let Ok(Some(r)) = record {
                if motcua_store::password::verify(DEMO_PASSWORD, &r.password_hash) {
                    demo_left.push(a.username);
                }
            }
        }
        store.close().await;
        if !demo_left.is_empty() {
            findings.push(format!(
                "demo accounts with the public demo password on a real installation: {}; \
                 delete them or change their passwords",
                demo_left.join(", ")
            ));
        }
    }
    if findings.is_empty() {
        println!("doctor: nothing to fix");
        return Ok(());
    }
    for f in &findings {
        println!("- {f}");
    }
    Err(Failure {
        code: FINDINGS,
        message: format!("doctor: {} thing(s) to fix", findings.len()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_of_a_real_installation_are_named() {
        let s = Settings {
            public_url: Some("https://dichvucong.langson.gov.vn".into()),
            ..Settings::default()
        };
        let found = check_settings(&s).join("\n");
        for key in [
            "dossier_code_prefix",
            "cookie_secure",
            "smtp_url",
            "[sms]",
            "backup_dir",
        ] {
            assert!(found.contains(key), "{key} in {found}");
        }
        let fixed = Settings {
            public_url: Some("https://dichvucong.langson.gov.vn".into()),
            cookie_secure: true,
            dossier_code_prefix: "000.00.00.H37".into(),
            smtp_url: Some("smtp://mail".into()),
            sms: Some(crate::config::SmsSettings::default()),
            database: Some("postgres://db/motcua".into()),
            ..Settings::default()
        };
        assert!(
            check_settings(&fixed).is_empty(),
            "{:?}",
            check_settings(&fixed)
        );
    }
}
