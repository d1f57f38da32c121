//! The partner side of a reporter: one trait, [`Sink`], with an implementation per partner.
//! Both speak Open Reporter over HTTP (*Create Token* with `{"username","password"}` answering
//! `{"token"}`, then *Update* with `Authorization: Bearer`); they differ in where the endpoints
//! are, whose credentials are sent, and what the update carries. The real Charge Amps partner
//! API can replace [`ChargeAmps`] without touching the forwarder.

pub mod guard;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use model::reporter::Problem;
use reqwest::Url;
use serde::{Deserialize, Serialize};

pub use guard::PartnerAllow;

use super::payload::Update;

/// Why a call to the partner failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// *Create Token* answered 401, 403 or 404: these credentials are not (yet) known there.
    Refused,
    /// *Update* answered 401 or 403: the token is no longer good.
    Unauthorized,
    /// 429: the partner asks us to wait (its `Retry-After`, in ms, when it gave one).
    Throttled(Option<i64>),
    Problem(Problem),
}

/// Why an update did not go through, and how long the partner asked us to wait, if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failed {
    pub problem: Problem,
    pub retry_after_ms: Option<i64>,
}

impl From<Problem> for Failed {
    fn from(problem: Problem) -> Self {
        Self {
            problem,
            retry_after_ms: None,
        }
    }
}

impl Failure {
    fn failed(self) -> Failed {
        match self {
            Failure::Refused | Failure::Unauthorized => Problem::Refused.into(),
            Failure::Throttled(retry_after_ms) => Failed {
                problem: Problem::Status(429),
                retry_after_ms,
            },
            Failure::Problem(p) => p.into(),
        }
    }
}

/// A `Retry-After` in seconds (the HTTP-date form is rare among APIs, and read as none).
fn retry_after(response: &reqwest::Response) -> Option<i64> {
    response
        .headers()
        .get(reqwest::header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<i64>()
        .ok()
        .map(|s| s.clamp(0, 3600) * 1000)
}

/// Where a reporter's updates go.
#[async_trait]
pub trait Sink: Send + Sync {
    /// Creates a bearer token from the reporter's credentials.
    async fn create_token(&self) -> Result<String, Failure>;
    async fn update(&self, token: &str, update: &Update) -> Result<(), Failure>;
}

/// Sends `update`, reusing `token` until the partner refuses it, then creating a new one once
/// before the attempt counts as failed.
pub async fn deliver(
    sink: &dyn Sink,
    token: &mut Option<String>,
    update: &Update,
) -> Result<(), Failed> {
    let mut fresh = false;
    loop {
        let current = match token {
            Some(t) => t.clone(),
            None => {
                let t = sink.create_token().await.map_err(Failure::failed)?;
                fresh = true;
                *token = Some(t.clone());
                t
            }
        };
        match sink.update(&current, update).await {
            Ok(()) => return Ok(()),
            Err(Failure::Unauthorized | Failure::Refused) => {
                *token = None;
                if fresh {
                    // A token made a moment ago is refused too: the credentials no longer are.
                    return Err(Problem::Refused.into());
                }
            }
            Err(other) => return Err(other.failed()),
        }
    }
}

/// The HTTP clients every reporter shares (one connection pool each), with a timeout on every
/// request. Neither follows a redirect (a partner that answers 3xx gets its status shown) nor
/// uses a proxy.
#[derive(Clone)]
pub struct Http {
    /// For URLs users typed: only public addresses ([`guard::GuardedResolver`]).
    guarded: reqwest::Client,
    /// For the operator's own addresses: Charge Amps' measurement link and the `host:port`s on
    /// the allow-list.
    trusted: reqwest::Client,
    allow: Arc<PartnerAllow>,
}

impl Http {
    pub fn new(timeout: Duration, allow: Arc<PartnerAllow>) -> Self {
        let client = |guarded: bool| {
            let builder = reqwest::Client::builder()
                .timeout(timeout)
                .connect_timeout(timeout.min(Duration::from_secs(5)))
                .tcp_nodelay(true)
                .pool_idle_timeout(Duration::from_secs(60))
                .redirect(reqwest::redirect::Policy::none())
                .no_proxy()
                .user_agent(concat!("Ampwise/", env!("CARGO_PKG_VERSION")));
            let builder = if guarded {
                builder.dns_resolver(Arc::new(guard::GuardedResolver))
            } else {
                builder
            };
            builder
                .build()
                .expect("a client with these settings always builds")
        };
        Self {
            guarded: client(true),
            trusted: client(false),
            allow,
        }
    }

    /// Where a request to `url` goes: the operator's URL as it is, a user's through the guard.
    fn endpoint(&self, url: &str, from_user: bool) -> Result<(&reqwest::Client, Url), Failure> {
        if !from_user {
            let url = Url::parse(url).map_err(|_| Failure::Problem(Problem::Unreachable))?;
            return Ok((&self.trusted, url));
        }
        // Refused before connecting: to the user, the same as an address that does not answer.
        let checked =
            guard::check(url, &self.allow).map_err(|_| Failure::Problem(Problem::Unreachable))?;
        let client = if checked.allowed {
            &self.trusted
        } else {
            &self.guarded
        };
        Ok((client, checked.url))
    }

    /// A closed port, a filtered one (a timeout), a refused address, a name without a public
    /// address and a peer that speaks no HTTP all read the same: a status must not map a
    /// network.
    fn problem(_: &reqwest::Error) -> Problem {
        Problem::Unreachable
    }

    /// *Create Token*: `{"username","password"}` → `{"token"}`.
    pub async fn create_token(
        &self,
        url: &str,
        from_user: bool,
        username: &str,
        password: &str,
    ) -> Result<String, Failure> {
        #[derive(Serialize)]
        struct Credentials<'a> {
            username: &'a str,
            password: &'a str,
        }
        #[derive(Deserialize)]
        struct Token {
            token: String,
        }
        let (client, url) = self.endpoint(url, from_user)?;
        let response = client
            .post(url)
            .json(&Credentials { username, password })
            .send()
            .await
            .map_err(|e| Failure::Problem(Self::problem(&e)))?;
        match response.status().as_u16() {
            200..=299 => {}
            401 | 403 | 404 => return Err(Failure::Refused),
            429 => return Err(Failure::Throttled(retry_after(&response))),
            code => return Err(Failure::Problem(Problem::Status(code))),
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| Failure::Problem(Self::problem(&e)))?;
        match serde_json::from_slice::<Token>(&body) {
            Ok(t) if !t.token.is_empty() => Ok(t.token),
            _ => Err(Failure::Problem(Problem::Garbage)),
        }
    }

    /// *Update*: the body with the bearer token; any 2xx is accepted.
    pub async fn update(
        &self,
        url: &str,
        from_user: bool,
        token: &str,
        update: &Update,
    ) -> Result<(), Failure> {
        let (client, url) = self.endpoint(url, from_user)?;
        let response = client
            .post(url)
            .bearer_auth(token)
            .json(update)
            .send()
            .await
            .map_err(|e| Failure::Problem(Self::problem(&e)))?;
        match response.status().as_u16() {
            200..=299 => Ok(()),
            401 | 403 => Err(Failure::Unauthorized),
            429 => Err(Failure::Throttled(retry_after(&response))),
            code => Err(Failure::Problem(Problem::Status(code))),
        }
    }
}

/// Charge Amps' measurement link: the reporter's serial number and PIN as username and password,
/// at `{base}/createtoken` and `{base}/update`.
pub struct ChargeAmps {
    pub http: Http,
    pub base_url: String,
    pub serial: String,
    pub pin: String,
}

#[async_trait]
impl Sink for ChargeAmps {
    async fn create_token(&self) -> Result<String, Failure> {
        let url = format!("{}/createtoken", self.base_url);
        self.http
            .create_token(&url, false, &self.serial, &self.pin)
            .await
    }

    async fn update(&self, token: &str, update: &Update) -> Result<(), Failure> {
        let url = format!("{}/update", self.base_url);
        self.http.update(&url, false, token, update).await
    }
}

/// Any Open Reporter partner, at the URLs and with the credentials it gave.
pub struct OpenReporter {
    pub http: Http,
    pub create_token_url: String,
    pub update_url: String,
    pub username: String,
    pub password: String,
}

#[async_trait]
impl Sink for OpenReporter {
    async fn create_token(&self) -> Result<String, Failure> {
        self.http
            .create_token(&self.create_token_url, true, &self.username, &self.password)
            .await
    }

    async fn update(&self, token: &str, update: &Update) -> Result<(), Failure> {
        self.http
            .update(&self.update_url, true, token, update)
            .await
    }
}

/// A reporter this server cannot forward (no Charge Amps address configured).
pub struct Unconfigured;

#[async_trait]
impl Sink for Unconfigured {
    async fn create_token(&self) -> Result<String, Failure> {
        Err(Failure::Problem(Problem::NotConfigured))
    }

    async fn update(&self, _: &str, _: &Update) -> Result<(), Failure> {
        Err(Failure::Problem(Problem::NotConfigured))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::reporters::payload::{Outgoing, Sender, update};
    use rstest::rstest;

    /// A partner that answers from a script and records what it was asked.
    struct Scripted {
        tokens: Mutex<Vec<Result<String, Failure>>>,
        updates: Mutex<Vec<Result<(), Failure>>>,
        calls: Mutex<Vec<String>>,
    }

    impl Scripted {
        fn new(tokens: Vec<Result<&str, Failure>>, updates: Vec<Result<(), Failure>>) -> Self {
            Self {
                tokens: Mutex::new(
                    tokens
                        .into_iter()
                        .rev()
                        .map(|t| t.map(str::to_string))
                        .collect(),
                ),
                updates: Mutex::new(updates.into_iter().rev().collect()),
                calls: Mutex::new(Vec::new()),
            }
        }
    }

    #[async_trait]
    impl Sink for Scripted {
        async fn create_token(&self) -> Result<String, Failure> {
            self.calls.lock().unwrap().push("createtoken".into());
            self.tokens
                .lock()
                .unwrap()
                .pop()
                .expect("unscripted createtoken")
        }

        async fn update(&self, token: &str, _: &Update) -> Result<(), Failure> {
            self.calls.lock().unwrap().push(format!("update {token}"));
            self.updates
                .lock()
                .unwrap()
                .pop()
                .expect("unscripted update")
        }
    }

    fn body() -> Update {
        let sender = Sender {
            reporter_id: 1,
            serial: "AMPW-2222-3333".into(),
            monitor_id: 1,
            phases: 3,
            main_fuse_a: 20,
            permission: None,
            guard_a: None,
        };
        update(&sender, &Outgoing::Offline { last: None }, 0)
    }

    const PROBLEM: Failure = Failure::Problem(Problem::Status(503));

    #[rstest]
    #[case::first_update_creates_a_token(None, vec![Ok("t1")], vec![Ok(())], Ok(()), &["createtoken", "update t1"], Some("t1"))]
    #[case::token_is_reused(Some("t1"), vec![], vec![Ok(())], Ok(()), &["update t1"], Some("t1"))]
    #[case::refused_token_is_renewed_once(Some("old"), vec![Ok("t2")], vec![Err(Failure::Unauthorized), Ok(())], Ok(()), &["update old", "createtoken", "update t2"], Some("t2"))]
    #[case::new_token_refused_too(Some("old"), vec![Ok("t2")], vec![Err(Failure::Unauthorized), Err(Failure::Unauthorized)], Err(Problem::Refused.into()), &["update old", "createtoken", "update t2"], None)]
    #[case::credentials_refused(None, vec![Err(Failure::Refused)], vec![], Err(Problem::Refused.into()), &["createtoken"], None)]
    #[case::create_token_fails(None, vec![Err(PROBLEM)], vec![], Err(Problem::Status(503).into()), &["createtoken"], None)]
    #[case::update_fails_and_the_token_stays(Some("t1"), vec![], vec![Err(PROBLEM)], Err(Problem::Status(503).into()), &["update t1"], Some("t1"))]
    #[case::throttled_with_its_wait(Some("t1"), vec![], vec![Err(Failure::Throttled(Some(30_000)))], Err(Failed { problem: Problem::Status(429), retry_after_ms: Some(30_000) }), &["update t1"], Some("t1"))]
    #[tokio::test]
    async fn tokens_are_reused_and_renewed(
        #[case] start: Option<&str>,
        #[case] tokens: Vec<Result<&str, Failure>>,
        #[case] updates: Vec<Result<(), Failure>>,
        #[case] want: Result<(), Failed>,
        #[case] calls: &[&str],
        #[case] token_after: Option<&str>,
    ) {
        let sink = Scripted::new(tokens, updates);
        let mut token = start.map(str::to_string);
        assert_eq!(deliver(&sink, &mut token, &body()).await, want);
        assert_eq!(*sink.calls.lock().unwrap(), calls);
        assert_eq!(token.as_deref(), token_after);
    }
}
