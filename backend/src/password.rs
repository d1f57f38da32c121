//! Password hashing (argon2id, the crate's defaults: 19 MiB, 2 passes, 1 lane — OWASP's
//! minimum recommendation) and the strength rule for new passwords.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use model::FieldError;
use rand_core::OsRng;
use zxcvbn::Score;

/// At most this many argon2 computations run at once (each takes 19 MiB and tens of
/// milliseconds of a core): a burst of sign-ups or log-ins queues here instead of starting
/// hundreds of blocking threads and taking the memory and CPU of every other user.
pub fn max_at_once() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| tokio::sync::Semaphore::new(max_at_once()))
}

/// The most argon2 computations seen running at once (for the test that they are bounded).
static RUNNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static MOST_RUNNING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn most_running() -> usize {
    MOST_RUNNING.load(std::sync::atomic::Ordering::Relaxed)
}

/// Runs `work` on a blocking thread once a permit is free.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    use std::sync::atomic::Ordering::Relaxed;
    let _permit = permits()
        .acquire()
        .await
        .expect("the semaphore is never closed");
    tokio::task::spawn_blocking(move || {
        let now = RUNNING.fetch_add(1, Relaxed) + 1;
        MOST_RUNNING.fetch_max(now, Relaxed);
        let out = work();
        RUNNING.fetch_sub(1, Relaxed);
        out
    })
    .await
    .expect("argon2 work does not panic")
}

/// Hashes on a blocking thread: argon2 takes tens of milliseconds of CPU by design.
pub async fn hash(password: String) -> String {
    bounded(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .expect("argon2 with default parameters hashes any input")
            .to_string()
    })
    .await
}

/// Verifies on a blocking thread. With no stored hash (unknown account) it still does the work
/// of one verification, so the response time does not tell which e-mail addresses exist.
pub async fn verify(password: String, stored: Option<String>) -> bool {
    bounded(move || {
        let stored = stored.unwrap_or_else(|| DUMMY_HASH.to_string());
        let Ok(parsed) = PasswordHash::new(&stored) else {
            return false;
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        ok && stored != DUMMY_HASH
    })
    .await
}

/// The argon2id hash of a random string nobody knows, with the default parameters.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$3yuk6qj0h8mSFwDoSjQh0bAKwLUdO1EqQ6wUExtT6Gk";

/// A new password must be long enough and not guessable (zxcvbn score 3 of 4 or better: "safely
/// unguessable, moderate protection from offline slow-hash scenario"). The e-mail address and
/// its parts count as known words.
pub fn check_strength(password: &str, email: &str) -> Result<(), FieldError> {
    model::account::check_password_shape(password)?;
    let mut known: Vec<&str> = email
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 1)
        .collect();
    known.push(email);
    if zxcvbn::zxcvbn(password, &known).score() < Score::Three {
        return Err(FieldError::new("password", "error.password_weak"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    /// A burst of log-ins runs argon2 a few at a time, not one blocking thread each.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn argon2_work_is_bounded() {
        let tries: Vec<_> = (0..24)
            .map(|i| tokio::spawn(verify(format!("guess {i}"), None)))
            .collect();
        for t in tries {
            assert!(!t.await.unwrap());
        }
        assert!(most_running() >= 1);
        assert!(
            most_running() <= max_at_once(),
            "{} argon2 computations at once, more than {}",
            most_running(),
            max_at_once()
        );
    }

    #[tokio::test]
    async fn hash_then_verify() {
        let stored = hash("Kvarnvägen-Laddbox-42".into()).await;
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(verify("Kvarnvägen-Laddbox-42".into(), Some(stored.clone())).await);
        assert!(!verify("kvarnvägen-laddbox-42".into(), Some(stored)).await);
    }

    #[tokio::test]
    async fn unknown_account_never_verifies() {
        assert!(!verify(String::new(), None).await);
        assert!(!verify("anything at all".into(), None).await);
    }

    #[tokio::test]
    async fn garbage_hash_does_not_verify() {
        assert!(!verify("x".into(), Some("not a phc string".into())).await);
    }

    #[rstest]
    #[case::strong("Kvarnvägen-Laddbox-42", "anna@example.se", None)]
    #[case::too_short("Ab1!", "anna@example.se", Some("error.password_short"))]
    #[case::common("password1234", "anna@example.se", Some("error.password_weak"))]
    #[case::keyboard_walk("qwertyuiop123", "anna@example.se", Some("error.password_weak"))]
    #[case::the_email_itself("anna@example.se", "anna@example.se", Some("error.password_weak"))]
    #[case::email_words("annaexample", "anna@example.se", Some("error.password_weak"))]
    fn strength(#[case] password: &str, #[case] email: &str, #[case] key: Option<&str>) {
        assert_eq!(check_strength(password, email).err().map(|e| e.key), key);
    }
}
