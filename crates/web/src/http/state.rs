//! The state every handler shares and the installation's settings it carries; and "now" as the
//! site sees it, in Vietnam's time.

use crate::http::catalogue;
use crate::http::metrics::Metrics;
use crate::http::oidc;
use crate::http::routes::RouteTable;
use motcua_store::Store;
use std::sync::Arc;

/// Facts about this installation that pages show.
#[derive(Debug, Clone)]
pub struct Site {
    /// Province name as written on pages, e.g. "Lạng Sơn".
    pub province_name: String,
    /// Demo installation: pages carry a banner saying so, and the dev inbox exists.
    pub demo: bool,
    /// Mark cookies `Secure`: set when the site is served over TLS (directly or behind a proxy).
    pub cookie_secure: bool,
    /// How dossiers are coded, how large their files may be, and the office hours.
    pub dossiers: DossierSettings,
}

/// Settings of online submission.
#[derive(Debug, Clone)]
pub struct DossierSettings {
    /// The receiving agency identifier and sequence width of dossier codes.
    pub codes: motcua_store::dossiers::CodeSettings,
    /// Upload limits.
    pub limits: motcua_core::dossier::UploadLimits,
    /// Working sessions of a day, for due moments.
    pub hours: motcua_core::calendar::deadline::OfficeHours,
    /// Public address of the portal for QR codes on forms; taken from the request's Host when
    /// unset.
    pub public_url: Option<String>,
}

impl Default for DossierSettings {
    fn default() -> Self {
        DossierSettings {
            codes: motcua_store::dossiers::CodeSettings {
                prefix: DEFAULT_CODE_PREFIX
                    .parse()
                    .unwrap_or_else(|_| unreachable!("the default prefix is valid")),
                width: 4,
            },
            limits: motcua_core::dossier::UploadLimits::default(),
            hours: motcua_core::calendar::deadline::OfficeHours::default(),
            public_url: None,
        }
    }
}

/// The receiving-agency identifier used until an installation sets its own (`dossier_code_prefix`).
/// Lạng Sơn's QCVN identifier was not verified, so the default is visibly a placeholder.
pub const DEFAULT_CODE_PREFIX: &str = "000.00.00.H00";

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState {
    /// The store.
    pub store: Arc<Store>,
    /// Installation facts.
    pub site: Arc<Site>,
    /// The catalogue's search snapshot.
    pub catalogue: Arc<catalogue::CatalogueCache>,
    /// The single sign-on provider, when configured.
    pub oidc: Option<Arc<oidc::Oidc>>,
    /// The gateways the outbox is delivered through, and the keys receipts are checked with.
    pub gateways: Gateways,
    pub(crate) metrics: Arc<Metrics>,
    /// Every route's access rule, which `authorize` enforces.
    pub(crate) routes: Arc<RouteTable>,
    /// Where the server's scheduled backups go, for `/metrics` to report their age.
    pub backup_dir: Option<std::path::PathBuf>,
}

impl AppState {
    /// With single sign-on through `provider`.
    pub fn with_oidc(mut self, provider: oidc::Oidc) -> Self {
        self.oidc = Some(Arc::new(provider));
        self
    }

    /// With email delivery of the outbox through `mailer`.
    pub fn with_mailer(
        mut self,
        mailer: motcua_gateways::SmtpMailer,
        config: motcua_delivery::WorkerConfig,
    ) -> Self {
        self.gateways.email = Some(Arc::new(mailer));
        self.gateways.pace = config;
        self
    }

    /// With scheduled backups into `dir` (their age on `/metrics`).
    pub fn with_backup_dir(mut self, dir: std::path::PathBuf) -> Self {
        self.backup_dir = Some(dir);
        self
    }

    /// With the outbox delivered through `gateways`.
    pub fn with_gateways(mut self, gateways: Gateways) -> Self {
        self.gateways = gateways;
        self
    }
}

/// ZNS with the OA's tokens in the store.
pub type ZaloGateway = motcua_gateways::zalo::Zns<motcua_delivery::StoreTokens>;

/// The Official Account's messages to followers, sharing ZNS's tokens.
pub type OaGateway = motcua_gateways::zalo::Oa<motcua_delivery::StoreTokens>;

/// What the "follow this dossier on Zalo" page shows: where to find the Official Account.
#[derive(Clone, Debug)]
pub struct ZaloFollow {
    /// The OA's name as people see it in Zalo.
    pub oa_name: String,
    /// The OA's page (`https://zalo.me/<oa id>`), which its QR code opens.
    pub oa_url: String,
}

/// The gateways of each delivery channel that has one; a channel without stays in the outbox.
#[derive(Clone, Default)]
pub struct Gateways {
    /// Email over SMTP.
    pub email: Option<Arc<motcua_gateways::SmtpMailer>>,
    /// The SMS brandname gateway.
    pub sms: Option<Arc<motcua_gateways::sms::SmsGateway>>,
    /// Zalo ZNS, tried first for notices to a phone.
    pub zalo: Option<Arc<ZaloGateway>>,
    /// The Zalo Official Account, tried before ZNS for its followers, and the way to a
    /// dossier's Zalo followers.
    pub oa: Option<Arc<OaGateway>>,
    /// Where to follow the OA, when it is configured.
    pub zalo_follow: Option<ZaloFollow>,
    /// The SMS contract's rate and daily quota.
    pub sms_pace: motcua_delivery::Pace,
    /// The OA's ZNS rate and daily quota.
    pub zalo_pace: motcua_delivery::Pace,
    /// How the workers poll and back off.
    pub pace: motcua_delivery::WorkerConfig,
    /// How long receipts are awaited.
    pub sweep: motcua_delivery::SweepConfig,
    /// What providers' receipts are checked with.
    pub receipts: ReceiptKeys,
    /// The providers' sandbox's page of simulated phones, when the demo runs one.
    pub phones_page: Option<String>,
}

/// The secrets providers' receipts prove themselves with.
#[derive(Clone, Default)]
pub struct ReceiptKeys {
    /// The token the SMS provider's receipt URL carries (`?token=`).
    pub sms_token: Option<String>,
    /// The Zalo app's id and the OA's secret key, which sign Zalo's webhook events.
    pub zalo: Option<(String, String)>,
}

/// The current moment in Vietnam's time: every "today", "this month" and "this year" the site
/// shows or checks is Vietnam's, which is a day ahead of UTC from 17:00 UTC on.
pub(crate) fn now_in_vietnam() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc().to_offset(motcua_core::calendar::deadline::VIETNAM)
}

/// This month in Vietnam's time: the month a report, a ledger or a queue opens on.
pub(crate) fn this_month() -> motcua_core::plan::Month {
    motcua_core::plan::Month::of(now_in_vietnam().date())
}
