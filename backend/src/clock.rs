//! Wall-clock time behind a trait, so loops that act on the time (the reporters' forwarders)
//! can be driven by a test's clock.

/// Milliseconds since the Unix epoch, UTC.
pub trait Clock: Send + Sync + 'static {
    fn now_ms(&self) -> i64;
}

/// The system's clock.
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        jiff::Timestamp::now().as_millisecond()
    }
}

/// Tokio's clock, starting at `start_ms`: with `tokio::time::pause` a test moves it, and the
/// loop's timers move with it.
pub struct TokioClock {
    start_ms: i64,
    start: tokio::time::Instant,
}

impl TokioClock {
    pub fn starting_at(start_ms: i64) -> Self {
        Self {
            start_ms,
            start: tokio::time::Instant::now(),
        }
    }
}

impl Clock for TokioClock {
    fn now_ms(&self) -> i64 {
        self.start_ms + self.start.elapsed().as_millis() as i64
    }
}

/// The system's clock moved by an offset that can be changed while running: the controllable
/// clock a browser test uses to walk through a night in seconds (`AMPWISE_TEST_CLOCK`).
#[derive(Default)]
pub struct OffsetClock {
    offset_ms: std::sync::atomic::AtomicI64,
}

impl OffsetClock {
    /// From now on, it says `now_ms`.
    pub fn set(&self, now_ms: i64) {
        let offset = now_ms - SystemClock.now_ms();
        self.offset_ms
            .store(offset, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Clock for OffsetClock {
    fn now_ms(&self) -> i64 {
        SystemClock.now_ms() + self.offset_ms.load(std::sync::atomic::Ordering::Relaxed)
    }
}
