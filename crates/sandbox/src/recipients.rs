//! Simulated recipients: numbers that always end the same way, so a test or a demo can show each
//! outcome on purpose. Any other number is delivered.

/// What happens to a message sent to a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// Taken, and a receipt says delivered.
    Delivered,
    /// Taken, and a receipt says the phone could not be reached (`EXPIRED`).
    TemporaryFailure,
    /// Refused at once: no such subscriber (SMS) or no Zalo account (ZNS).
    PermanentFailure,
    /// The provider's API fails (HTTP 502) for this number.
    Technical,
    /// Taken, and no receipt ever comes.
    Silent,
}

/// Always delivered.
pub const DELIVERED: &str = "0900000001";
/// Taken, then reported unreachable.
pub const TEMPORARY_FAILURE: &str = "0900000002";
/// Not a subscriber: refused.
pub const PERMANENT_FAILURE: &str = "0900000003";
/// Has no Zalo account: ZNS refuses it, SMS delivers.
pub const NO_ZALO: &str = "0900000004";
/// Zalo takes the message and never confirms it (the phone is never opened): SMS delivers.
pub const ZALO_SILENT: &str = "0900000005";
/// The provider's API fails for it.
pub const TECHNICAL: &str = "0900000006";

fn international(national: &str) -> String {
    format!("84{}", &national[1..])
}

/// What SMS providers do with a message to `msisdn` (`84…`).
pub fn behaviour(msisdn: &str) -> Behaviour {
    match msisdn {
        n if n == international(TEMPORARY_FAILURE) => Behaviour::TemporaryFailure,
        n if n == international(PERMANENT_FAILURE) => Behaviour::PermanentFailure,
        n if n == international(TECHNICAL) => Behaviour::Technical,
        _ => Behaviour::Delivered,
    }
}

/// What Zalo does with a ZNS message to `msisdn`.
pub fn zalo_behaviour(msisdn: &str) -> Behaviour {
    match msisdn {
        n if n == international(NO_ZALO) => Behaviour::PermanentFailure,
        n if n == international(ZALO_SILENT) => Behaviour::Silent,
        n => behaviour(n),
    }
}

/// Follows the province's Official Account from the start: notices reach it as OA messages.
pub const OA_FOLLOWER: &str = "0900000007";

/// The number in the international form the providers use (`84…`).
pub fn msisdn(national: &str) -> String {
    international(national)
}
