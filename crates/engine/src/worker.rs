//! A model on a thread of its own: the one pattern behind the embedder and the generator.
//!
//! Models are loaded on the thread that runs them (a llama.cpp context is not `Send`, and an
//! encoder is best kept where its memory is), so [`Worker::spawn`] takes the thread's whole body:
//! it loads the model, says so through [`Ready`] (the spawner waits for that), then serves the
//! jobs that [`Jobs`] yields until the worker is dropped. Jobs run one at a time, in order,
//! except that [`Worker::submit_first`] puts a job ahead of every job queued with
//! [`Worker::submit`]: an interactive question must not wait behind queued ingestion batches.

use std::collections::VecDeque;
use std::sync::{mpsc, Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

use crate::error::{Error, Result};

/// The queue between the callers and the thread.
struct Queue<J> {
    state: Mutex<State<J>>,
    changed: Condvar,
}

struct State<J> {
    first: VecDeque<J>,
    normal: VecDeque<J>,
    /// The worker was dropped: no more jobs will come.
    closed: bool,
    /// The thread no longer takes jobs (it failed to load, finished or panicked).
    stopped: bool,
}

impl<J> Queue<J> {
    fn lock(&self) -> MutexGuard<'_, State<J>> {
        // The lock is never held while a job runs, so a poisoned queue is still consistent.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// The thread's side of the start-up handshake: the body calls [`Ready::ok`] once its model has
/// loaded, or [`Ready::fail`]. A body that returns without either makes the spawn fail too.
pub(crate) struct Ready<I>(mpsc::Sender<Result<I>>);

impl<I> Ready<I> {
    /// The model is loaded; `info` goes to the spawner.
    pub fn ok(self, info: I) {
        let _ = self.0.send(Ok(info));
    }

    /// The model cannot be used; the spawner gets `error`.
    pub fn fail(self, error: Error) {
        let _ = self.0.send(Err(error));
    }
}

/// The jobs for the thread, first-class ones first; ends when the worker is dropped and every
/// queued job has been handed out.
pub(crate) struct Jobs<J>(Arc<Queue<J>>);

impl<J> Iterator for Jobs<J> {
    type Item = J;

    fn next(&mut self) -> Option<J> {
        let mut state = self.0.lock();
        loop {
            if let Some(job) = state.first.pop_front().or_else(|| state.normal.pop_front()) {
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state = self
                .0
                .changed
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }
}

impl<J> Drop for Jobs<J> {
    /// Whatever ends the thread (a failed load, a panic in a job), callers learn it at once:
    /// new jobs are refused and queued ones are dropped, which closes their reply channels.
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.stopped = true;
        let queued = (
            std::mem::take(&mut state.first),
            std::mem::take(&mut state.normal),
        );
        drop(state);
        drop(queued);
    }
}

/// A named thread that owns a model and runs jobs of type `J` on it, one at a time. Dropping
/// it lets the queued jobs finish, then joins the thread.
pub(crate) struct Worker<J> {
    queue: Arc<Queue<J>>,
    /// The error callers get once the thread has stopped ("the embedding thread has stopped").
    stopped: fn() -> Error,
    thread: Option<JoinHandle<()>>,
}

impl<J: Send + 'static> Worker<J> {
    /// Starts thread `name` running `body`, and returns once the body has called
    /// [`Ready::ok`] (with its info) or [`Ready::fail`] (with its error).
    pub fn spawn<I, F>(name: &str, stopped: fn() -> Error, body: F) -> Result<(Worker<J>, I)>
    where
        I: Send + 'static,
        F: FnOnce(Ready<I>, Jobs<J>) + Send + 'static,
    {
        let queue = Arc::new(Queue {
            state: Mutex::new(State {
                first: VecDeque::new(),
                normal: VecDeque::new(),
                closed: false,
                stopped: false,
            }),
            changed: Condvar::new(),
        });
        let (ready, started) = mpsc::channel();
        let jobs = Jobs(Arc::clone(&queue));
        let thread = std::thread::Builder::new()
            .name(name.into())
            .spawn(move || body(Ready(ready), jobs))?;
        let worker = Worker {
            queue,
            stopped,
            thread: Some(thread),
        };
        // On failure the worker is dropped here, which joins the thread that has just ended.
        let info = started.recv().map_err(|_| stopped())??;
        Ok((worker, info))
    }

    /// Queues `job` behind the jobs already queued.
    pub fn submit(&self, job: J) -> Result<()> {
        self.push(job, false)
    }

    /// Queues `job` ahead of every job queued with [`Worker::submit`] (behind earlier
    /// `submit_first` jobs): it runs as soon as the job in progress ends.
    pub fn submit_first(&self, job: J) -> Result<()> {
        self.push(job, true)
    }

    fn push(&self, job: J, first: bool) -> Result<()> {
        let mut state = self.queue.lock();
        if state.stopped {
            return Err((self.stopped)());
        }
        if first {
            state.first.push_back(job);
        } else {
            state.normal.push_back(job);
        }
        drop(state);
        self.queue.changed.notify_one();
        Ok(())
    }
}

impl<J> Drop for Worker<J> {
    fn drop(&mut self) {
        self.queue.lock().closed = true;
        self.queue.changed.notify_all();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stopped() -> Error {
        Error::Embedding("the test thread has stopped".into())
    }

    #[test]
    fn first_jobs_overtake_queued_normal_jobs() {
        let (gate_tx, gate) = mpsc::channel::<()>();
        let (busy_tx, busy) = mpsc::channel::<()>();
        let (done_tx, done) = mpsc::channel::<u32>();
        let (worker, info) = Worker::spawn("quire-test", stopped, move |ready, jobs: Jobs<u32>| {
            ready.ok("loaded");
            for job in jobs {
                if job == 0 {
                    // Hold the thread in a job while the others queue up.
                    busy_tx.send(()).unwrap();
                    gate.recv().unwrap();
                }
                done_tx.send(job).unwrap();
            }
        })
        .unwrap();
        assert_eq!(info, "loaded");
        worker.submit(0).unwrap();
        busy.recv().unwrap();
        worker.submit(1).unwrap();
        worker.submit(2).unwrap();
        worker.submit_first(3).unwrap();
        worker.submit(4).unwrap();
        worker.submit_first(5).unwrap();
        gate_tx.send(()).unwrap();
        // Dropping the worker lets every queued job finish before the thread ends.
        drop(worker);
        assert_eq!(done.iter().collect::<Vec<_>>(), [0, 3, 5, 1, 2, 4]);
    }

    #[test]
    fn a_failed_load_is_the_spawn_error() {
        let failed = Worker::<u32>::spawn("quire-test", stopped, |ready: Ready<()>, _jobs| {
            ready.fail(Error::ModelInvalid("not a model".into()));
        });
        assert!(matches!(failed, Err(Error::ModelInvalid(m)) if m == "not a model"));
        let silent = Worker::<u32>::spawn("quire-test", stopped, |_ready: Ready<()>, _jobs| {});
        assert!(matches!(silent, Err(Error::Embedding(m)) if m.contains("stopped")));
    }

    #[test]
    fn a_stopped_thread_refuses_jobs_and_drops_queued_ones() {
        let (gate_tx, gate) = mpsc::channel::<()>();
        let (busy_tx, busy) = mpsc::channel::<()>();
        type Job = (u32, mpsc::Sender<u32>);
        let (worker, ()) =
            Worker::spawn("quire-test", stopped, move |ready, mut jobs: Jobs<Job>| {
                ready.ok(());
                if let Some((job, _reply)) = jobs.next() {
                    busy_tx.send(()).unwrap();
                    gate.recv().unwrap();
                    panic!("job {job} broke the model");
                }
            })
            .unwrap();
        let (tx, running) = mpsc::channel();
        worker.submit((0, tx)).unwrap();
        busy.recv().unwrap();
        let (tx, queued) = mpsc::channel();
        worker.submit((1, tx)).unwrap();
        gate_tx.send(()).unwrap();
        // Both reply channels close without an answer once the thread is gone...
        assert!(running.recv().is_err());
        assert!(queued.recv().is_err());
        // ...and new jobs are refused with the worker's own error.
        let refused = worker.submit((2, mpsc::channel().0));
        assert!(matches!(refused, Err(Error::Embedding(m)) if m.contains("stopped")));
    }
}
