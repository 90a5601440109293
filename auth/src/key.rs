//! Account keys: an Ed25519 keypair per account. The public key travels as base64url (no
//! padding, 43 characters); an account's id is its first 16 characters, which a token names as
//! its issuer (`iss`) and key id (`kid`).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ed25519_dalek::{SigningKey, VerifyingKey};

/// Characters of the base64url public key that make an account id (96 bits).
pub const ID_LEN: usize = 16;

/// A public key a token may be signed with.
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey(pub(crate) VerifyingKey);

impl PublicKey {
    /// Reads a base64url (no padding) Ed25519 public key. A point that is not on the curve, or
    /// one of the weak small-order points, is refused.
    pub fn parse(text: &str) -> Result<PublicKey, String> {
        let text = text.trim();
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| "not base64url (without padding)".to_owned())?;
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| {
            "an Ed25519 public key is 32 bytes (43 base64url characters)".to_owned()
        })?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| "not a valid Ed25519 public key".to_owned())?;
        if key.is_weak() {
            return Err("a weak (small-order) Ed25519 key".into());
        }
        Ok(PublicKey(key))
    }

    /// The base64url form.
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.as_bytes())
    }

    /// The account id: the first [`ID_LEN`] characters of [`PublicKey::encode`].
    pub fn id(&self) -> String {
        let mut e = self.encode();
        e.truncate(ID_LEN);
        e
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({})", self.encode())
    }
}

/// An account's secret key. Its `Debug` shows only the public half.
pub struct AccountKey(SigningKey);

impl AccountKey {
    /// A new key from the OS random source.
    pub fn generate() -> Result<AccountKey, getrandom::Error> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed)?;
        Ok(AccountKey(SigningKey::from_bytes(&seed)))
    }

    /// The secret key file's contents: the 32-byte seed, base64url.
    pub fn encode_secret(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.0.to_bytes())
    }

    /// Reads [`AccountKey::encode_secret`]'s form.
    pub fn parse_secret(text: &str) -> Result<AccountKey, String> {
        let bytes = URL_SAFE_NO_PAD
            .decode(text.trim())
            .map_err(|_| "the secret key is not base64url".to_owned())?;
        let seed: [u8; 32] = bytes
            .try_into()
            .map_err(|_| "the secret key is not 32 bytes".to_owned())?;
        Ok(AccountKey(SigningKey::from_bytes(&seed)))
    }

    pub fn public(&self) -> PublicKey {
        PublicKey(self.0.verifying_key())
    }

    pub(crate) fn signing(&self) -> &SigningKey {
        &self.0
    }
}

impl std::fmt::Debug for AccountKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AccountKey(public {})", self.public().encode())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip_and_ids_are_prefixes() {
        let k = AccountKey::generate().unwrap();
        let p = k.public();
        assert_eq!(p.encode().len(), 43);
        assert_eq!(PublicKey::parse(&p.encode()).unwrap(), p);
        assert!(p.encode().starts_with(&p.id()));
        assert_eq!(p.id().len(), ID_LEN);
        let again = AccountKey::parse_secret(&k.encode_secret()).unwrap();
        assert_eq!(again.public(), p);
        assert!(!format!("{k:?}").contains(&k.encode_secret()));
    }

    #[test]
    fn bad_public_keys_are_refused() {
        for bad in [
            "",
            "!!!",
            "AAAA",
            &"A".repeat(44),
            &format!("{}=", "A".repeat(43)),
        ] {
            assert!(PublicKey::parse(bad).is_err(), "{bad}");
        }
        // The identity point is small-order.
        let mut id = [0u8; 32];
        id[0] = 1;
        assert!(PublicKey::parse(&URL_SAFE_NO_PAD.encode(id)).is_err());
    }
}
