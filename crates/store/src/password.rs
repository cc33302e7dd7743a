//! Password hashing with Argon2id (the `argon2` crate's defaults follow the OWASP recommendation).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

/// Hashes a password into a PHC string (algorithm, parameters and salt included).
pub fn hash(password: &str) -> Result<String, crate::StoreError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| crate::StoreError::Internal(format!("password hashing failed: {e}")))
}

/// Checks a password against a stored PHC string. A malformed stored hash verifies nothing.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let h = hash("đúng-mật-khẩu").unwrap_or_default();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify("đúng-mật-khẩu", &h));
        assert!(!verify("sai-mật-khẩu", &h));
        assert!(!verify("đúng-mật-khẩu", "not a hash"));
    }
}
