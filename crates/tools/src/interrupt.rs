//! Ctrl-C for the long-running tools, remembered once pressed.
//!
//! A fresh `tokio::signal::ctrl_c()` per wait only sees a SIGINT delivered while that wait is
//! polled: one that arrives during an offset commit, a heartbeat or a synchronous send is
//! lost, and since tokio has replaced the default handler the tool then ignores Ctrl-C for
//! good (a console consumer stopped that way hung in a test). [`Interrupt`] registers the
//! handler once, at start, and keeps the fact that the signal came.

use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// Whether Ctrl-C (SIGINT) was pressed since [`Interrupt::listen`].
#[derive(Clone, Debug)]
pub struct Interrupt(watch::Receiver<bool>);

impl Interrupt {
    /// Registers for SIGINT now (inside a tokio runtime). If registration fails the tool
    /// keeps the default handler (Ctrl-C then ends it at once) and this never fires.
    pub fn listen() -> Interrupt {
        let (tx, rx) = watch::channel(false);
        match signal(SignalKind::interrupt()) {
            Ok(mut sigint) => {
                tokio::spawn(async move {
                    if sigint.recv().await.is_some() {
                        let _ = tx.send(true);
                    }
                    // Keep the sender: receivers must not see a closed channel.
                    std::future::pending::<()>().await;
                });
            }
            Err(error) => tracing::debug!(%error, "cannot listen for Ctrl-C"),
        }
        Interrupt(rx)
    }

    /// Whether Ctrl-C was pressed.
    pub fn raised(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once Ctrl-C was pressed: at once if it already was.
    pub async fn wait(&self) {
        let mut rx = self.0.clone();
        if rx.wait_for(|pressed| *pressed).await.is_err() {
            // No listener (registration failed): never.
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Interrupt;
    use std::time::Duration;

    #[tokio::test]
    async fn a_ctrl_c_before_anyone_waits_is_remembered() {
        let interrupt = Interrupt::listen();
        assert!(!interrupt.raised());
        // Delivered while nothing waits (as during an offset commit).
        let status = std::process::Command::new("kill")
            .args(["-INT", &std::process::id().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success());
        tokio::time::timeout(Duration::from_secs(5), interrupt.wait())
            .await
            .expect("the earlier Ctrl-C is seen by a later wait");
        assert!(interrupt.raised());
        // And by every later wait.
        tokio::time::timeout(Duration::from_secs(1), interrupt.clone().wait())
            .await
            .expect("still raised");
    }
}
