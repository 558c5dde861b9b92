//! The real OS keychain: on Linux the Secret Service (gnome-keyring under dbus-run-session in
//! `make test`).

use gatehouse_api::Secret;
use gatehouse_core::credentials::{CredentialStore, Keychain, Slot};

#[test]
fn store_read_and_delete_a_profile_credential() {
    let service = format!("dev.gatehouse.test.{}", std::process::id());
    let keychain = Keychain::new(&service);
    let profile = Slot::Token("profile-under-test");
    keychain.delete(profile).unwrap();
    assert_eq!(keychain.get(profile).unwrap(), None);

    keychain.set(profile, &Secret::new("gat_first")).unwrap();
    assert_eq!(
        keychain.get(profile).unwrap().unwrap().expose(),
        "gat_first"
    );
    keychain.set(profile, &Secret::new("gat_second")).unwrap();
    assert_eq!(
        keychain.get(profile).unwrap().unwrap().expose(),
        "gat_second"
    );

    // Entries are per profile and per kind of secret.
    assert_eq!(
        keychain.get(Slot::CacheKey("profile-under-test")).unwrap(),
        None
    );
    assert_eq!(keychain.get(Slot::Token("another-profile")).unwrap(), None);

    keychain.delete(profile).unwrap();
    assert_eq!(keychain.get(profile).unwrap(), None);
    // Deleting what is gone is not an error.
    keychain.delete(profile).unwrap();
}
