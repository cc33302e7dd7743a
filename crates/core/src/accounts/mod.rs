//! Accounts: identity numbers, contact details, passwords, login throttling and who may do what.

pub mod identity;
pub mod permission;
pub mod throttle;

pub use identity::{normalise_email, normalise_phone, Cccd, IdentityError};
pub use permission::{Access, Permission};
pub use throttle::{Attempt, Quota, QuotaState, Throttle, ThrottleRule};

/// Why a password is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Too short.
    #[error("password must have at least {0} characters")]
    TooShort(usize),
    /// Too long (Argon2 input is bounded to keep hashing cheap to refuse).
    #[error("password must have at most {0} characters")]
    TooLong(usize),
    /// Contains the login name, email or phone.
    #[error("password must not contain your login name, email or phone number")]
    ContainsIdentity,
    /// A well-known password.
    #[error("password is too common")]
    Common,
}

impl PasswordError {
    /// The message shown on pages.
    pub fn message_vi(&self) -> String {
        match self {
            PasswordError::TooShort(n) => format!("Mật khẩu phải có ít nhất {n} ký tự."),
            PasswordError::TooLong(n) => format!("Mật khẩu không được dài quá {n} ký tự."),
            PasswordError::ContainsIdentity => {
                "Mật khẩu không được chứa tên đăng nhập, email hoặc số điện thoại.".into()
            }
            PasswordError::Common => {
                "Mật khẩu quá phổ biến, dễ bị đoán. Hãy chọn mật khẩu khác.".into()
            }
        }
    }
}

/// Minimum password length: a passphrase policy (NIST SP 800-63B) rather than character classes.
pub const PASSWORD_MIN: usize = 10;
/// Maximum password length.
pub const PASSWORD_MAX: usize = 128;

const COMMON: [&str; 16] = [
    "1234567890",
    "12345678910",
    "0123456789",
    "1111111111",
    "matkhau123",
    "matkhau1234",
    "password123",
    "password1234",
    "qwertyuiop",
    "abc1234567",
    "iloveyou123",
    "anhyeuem123",
    "0987654321",
    "1234512345",
    "a123456789",
    "admin12345",
];

/// Checks a new password against the policy; `identity` are the login name, email and phone.
pub fn check_password(password: &str, identity: &[&str]) -> Result<(), PasswordError> {
    let len = password.chars().count();
    if len < PASSWORD_MIN {
        return Err(PasswordError::TooShort(PASSWORD_MIN));
    }
    if len > PASSWORD_MAX {
        return Err(PasswordError::TooLong(PASSWORD_MAX));
    }
    let lower = password.to_lowercase();
    if identity
        .iter()
        .filter(|i| i.chars().count() >= 4)
        .any(|i| lower.contains(&i.to_lowercase()))
    {
        return Err(PasswordError::ContainsIdentity);
    }
    let distinct: std::collections::HashSet<char> = lower.chars().collect();
    if COMMON.contains(&lower.as_str()) || distinct.len() <= 2 {
        return Err(PasswordError::Common);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_policy() {
        assert_eq!(
            check_password("ngắn", &[]),
            Err(PasswordError::TooShort(10))
        );
        assert_eq!(
            check_password(&"a".repeat(129), &[]),
            Err(PasswordError::TooLong(128))
        );
        assert_eq!(
            check_password("nguyenvanan-2026", &["nguyenvanan"]),
            Err(PasswordError::ContainsIdentity)
        );
        assert_eq!(
            check_password("matkhau123", &[]),
            Err(PasswordError::Common)
        );
        assert_eq!(
            check_password("aaaaaaaaaaaa", &[]),
            Err(PasswordError::Common)
        );
        assert_eq!(check_password("Xứ Lạng mùa hoa đào", &["congdan"]), Ok(()));
    }
}
