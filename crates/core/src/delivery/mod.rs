//! How a message reaches a person (kênh gửi thông báo). Not to be confused with how a dossier
//! arrived (`dossier::Channel`, the intake channel: online, at the counter, by post) nor with the
//! plan's outreach channels (portal, newspaper, leaflets, …).

pub mod follow;
pub mod outreach;
pub mod sms;

use crate::accounts::normalise_email;

/// How a Zalo follower known by their Zalo id is addressed: `zalo:<id>`.
pub const ZALO_FOLLOWER: &str = "zalo:";

/// A delivery channel: one way one message travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryChannel {
    /// Email over SMTP.
    Email,
    /// SMS through a brandname gateway.
    Sms,
    /// Zalo (ZNS template messages or the official account).
    Zalo,
    /// The portal's own inbox.
    InApp,
}

impl DeliveryChannel {
    /// Every channel.
    pub const ALL: [DeliveryChannel; 4] = [
        DeliveryChannel::Email,
        DeliveryChannel::Sms,
        DeliveryChannel::Zalo,
        DeliveryChannel::InApp,
    ];

    /// Database and API identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryChannel::Email => "email",
            DeliveryChannel::Sms => "sms",
            DeliveryChannel::Zalo => "zalo",
            DeliveryChannel::InApp => "inapp",
        }
    }

    /// Reads an identifier as stored.
    pub fn parse(s: &str) -> Option<DeliveryChannel> {
        DeliveryChannel::ALL.into_iter().find(|c| c.as_str() == s)
    }

    /// The name on pages.
    pub fn label_vi(self) -> &'static str {
        match self {
            DeliveryChannel::Email => "Thư điện tử",
            DeliveryChannel::Sms => "Tin nhắn SMS",
            DeliveryChannel::Zalo => "Zalo",
            DeliveryChannel::InApp => "Thông báo trên Cổng",
        }
    }

    /// The channel an address is reached by when nothing else is known of the person: an email
    /// address by email, a Zalo follower's id (`zalo:…`) by Zalo, anything else (a phone number,
    /// as the product stores it) by SMS. This is the one place that tells them apart.
    pub fn for_address(address: &str) -> DeliveryChannel {
        if address.starts_with(ZALO_FOLLOWER) {
            DeliveryChannel::Zalo
        } else if normalise_email(address).is_ok() {
            DeliveryChannel::Email
        } else {
            DeliveryChannel::Sms
        }
    }
}

/// What a message is for: each kind has its own consent and rules. A one-time code and a
/// dossier's notice are transactional — needed to deliver the service, never held by the
/// anti-spam rules; outreach is advertising under Decree 91/2020 (hours, daily cap, label,
/// opt-out; see messaging.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// A one-time code (sign-up, password reset): SMS or email, never delayed by routing.
    Code,
    /// A step of a dossier, a reminder of a plan: Zalo first where it is configured.
    Notice,
    /// A campaign message.
    Outreach,
}

impl MessageKind {
    /// Database identifier.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Code => "code",
            MessageKind::Notice => "notice",
            MessageKind::Outreach => "outreach",
        }
    }

    /// Reads an identifier as stored.
    pub fn parse(s: &str) -> Option<MessageKind> {
        [
            MessageKind::Code,
            MessageKind::Notice,
            MessageKind::Outreach,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }

    /// Whether the message is transactional (never held by the outreach rules).
    pub fn is_transactional(self) -> bool {
        !matches!(self, MessageKind::Outreach)
    }
}

/// An address as pages that watch deliveries show it: enough to tell two apart, not enough to
/// read who was told: `0912***678`, `an***@example.vn`.
pub fn mask(address: &str) -> String {
    let chars: Vec<char> = address.chars().collect();
    if let Some(at) = address.find('@') {
        let local: String = address[..at].chars().take(2).collect();
        return format!("{local}***{}", &address[at..]);
    }
    if chars.len() <= 7 {
        return "***".to_owned();
    }
    let head: String = chars[..4].iter().collect();
    let tail: String = chars[chars.len() - 3..].iter().collect();
    format!("{head}***{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_reached_by_email_or_sms_and_names_read_back() {
        assert_eq!(
            DeliveryChannel::for_address("an@langson.gov.vn"),
            DeliveryChannel::Email
        );
        assert_eq!(
            DeliveryChannel::for_address("0915000001"),
            DeliveryChannel::Sms
        );
        assert_eq!(
            DeliveryChannel::for_address("+84915000001"),
            DeliveryChannel::Sms
        );
        for c in DeliveryChannel::ALL {
            assert_eq!(DeliveryChannel::parse(c.as_str()), Some(c));
        }
        assert_eq!(DeliveryChannel::parse("fax"), None);
    }

    #[test]
    fn addresses_are_masked_on_watching_pages() {
        assert_eq!(mask("0912345678"), "0912***678");
        assert_eq!(mask("an.nguyen@example.vn"), "an***@example.vn");
        assert_eq!(mask("12345"), "***");
        assert_eq!(mask("đă@x.vn"), "đă***@x.vn");
    }
}
