//! Work over a stream of items on every core, in order: one thread reads the items in chunks, worker
//! threads map the chunks, and the calling thread takes the results in the input's order while the
//! next chunks are read and mapped. The site learner, the audit and `apply`'s plan read the whole
//! mirror this way.
//!
//! Chunks are dealt to the workers in turn and taken back in the same turn, so the order needs no
//! sorting and at most two chunks per worker are in flight (one waiting, one mapped): memory stays
//! flat whatever the number of items.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use twotrack_api::Item;

/// An item as read, made whole where it is mapped: a reader of stored items hands them to the
/// workers undecoded (decoding is most of reading an item, and the reading thread is one), and each
/// worker decodes its own. An [`Item`] is already whole.
pub trait Decode<E>: Send {
    fn decode(self) -> Result<Item, E>;
}

impl<E> Decode<E> for Item {
    fn decode(self) -> Result<Item, E> {
        Ok(self)
    }
}

/// Items per chunk handed from the reader to a worker: large enough that handing over costs nothing
/// against mapping, small enough that a few chunks in flight hold little.
pub const CHUNK: usize = 2048;

/// The worker threads to map with: one per core, at most 8.
pub fn workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8)
}

/// Map every item of `items` with `map` on `workers` threads (`None` drops it), and hand each result
/// to `sink` on the calling thread, in the order of `items`. Stops at the first error: a reading
/// error (after the results of the items before it) or one `sink` returns. A panic in `map` or in
/// reading is the caller's panic once every thread has stopped, never a stream that ends early.
pub fn map_in_order<T, U, E, S>(
    items: impl Iterator<Item = Result<T, E>> + Send,
    workers: usize,
    map: impl Fn(T) -> Option<U> + Sync,
    sink: impl FnMut(U) -> Result<(), S>,
) -> Result<(), S>
where
    T: Send,
    U: Send,
    E: Send,
    S: From<E>,
{
    map_in_order_with(items, workers, || (), |(), item| map(item), sink)
}

/// [`map_in_order`] where each worker keeps state of its own across the items it maps (made by
/// `state` on the worker): scratch space, or cursors that only move forward, since a worker is dealt
/// its chunks in the input's order.
pub fn map_in_order_with<T, U, E, S, W>(
    items: impl Iterator<Item = Result<T, E>> + Send,
    workers: usize,
    state: impl Fn() -> W + Sync,
    map: impl Fn(&mut W, T) -> Option<U> + Sync,
    mut sink: impl FnMut(U) -> Result<(), S>,
) -> Result<(), S>
where
    T: Send,
    U: Send,
    E: Send,
    S: From<E>,
{
    let workers = workers.max(1);
    std::thread::scope(|s| {
        let (map, state) = (&map, &state);
        let mut inputs: Vec<SyncSender<Result<Vec<T>, E>>> = Vec::with_capacity(workers);
        let mut outputs: Vec<Receiver<Result<Vec<U>, E>>> = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (input, chunks) = sync_channel::<Result<Vec<T>, E>>(1);
            let (mapped, output) = sync_channel::<Result<Vec<U>, E>>(1);
            s.spawn(move || {
                let mut own = state();
                for chunk in chunks {
                    let result = chunk.map(|chunk| chunk.into_iter().filter_map(|item| map(&mut own, item)).collect());
                    if mapped.send(result).is_err() {
                        return;
                    }
                }
            });
            inputs.push(input);
            outputs.push(output);
        }
        s.spawn(move || deal(items, &inputs));
        // Take the chunks back in the turn they were dealt: a worker whose input ended (the reader
        // finished or stopped) closes its output, which ends the stream at the right place.
        for turn in (0..workers).cycle() {
            match outputs[turn].recv() {
                Ok(Ok(results)) => {
                    for result in results {
                        sink(result)?;
                    }
                }
                Ok(Err(e)) => return Err(S::from(e)),
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    })
}

/// Read `items` into chunks, dealt to `inputs` in turn; a reading error goes to the next worker in
/// turn (after the chunk of the items before it) and ends the reading, as does a worker gone.
fn deal<T, E>(items: impl Iterator<Item = Result<T, E>>, inputs: &[SyncSender<Result<Vec<T>, E>>]) {
    let mut turn = 0;
    let mut chunk = Vec::with_capacity(CHUNK);
    let send = |message: Result<Vec<T>, E>, turn: &mut usize| {
        let sent = inputs[*turn].send(message).is_ok();
        *turn = (*turn + 1) % inputs.len();
        sent
    };
    for item in items {
        match item {
            Ok(item) => chunk.push(item),
            Err(e) => {
                if !chunk.is_empty() && !send(Ok(std::mem::take(&mut chunk)), &mut turn) {
                    return;
                }
                send(Err(e), &mut turn);
                return;
            }
        }
        if chunk.len() == CHUNK && !send(Ok(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK))), &mut turn) {
            return;
        }
    }
    if !chunk.is_empty() {
        send(Ok(chunk), &mut turn);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq)]
    enum Failure {
        Read(u32),
        Sink(u32),
    }

    impl From<u32> for Failure {
        fn from(at: u32) -> Failure {
            Failure::Read(at)
        }
    }

    fn run(
        n: u32,
        workers: usize,
        fail_read_at: Option<u32>,
        fail_sink_at: Option<u32>,
    ) -> (Vec<u32>, Result<(), Failure>) {
        let items = (0..n).map(move |i| if Some(i) == fail_read_at { Err(i) } else { Ok(i) });
        let mut seen = Vec::new();
        let result = map_in_order(
            items,
            workers,
            |i| (i % 3 != 0).then_some(i * 2),
            |u| {
                if Some(u) == fail_sink_at {
                    return Err(Failure::Sink(u));
                }
                seen.push(u);
                Ok(())
            },
        );
        (seen, result)
    }

    #[test]
    fn results_come_in_the_input_order_whatever_the_workers() {
        let n = CHUNK as u32 * 7 + 13;
        let expected: Vec<u32> = (0..n).filter(|i| i % 3 != 0).map(|i| i * 2).collect();
        for workers in [1, 2, 3, 8] {
            let (seen, result) = run(n, workers, None, None);
            assert_eq!(result, Ok(()));
            assert_eq!(seen, expected, "{workers} workers");
        }
        assert_eq!(run(0, 4, None, None), (Vec::new(), Ok(())));
    }

    #[test]
    fn each_worker_keeps_its_state_and_sees_its_items_in_order() {
        let n = CHUNK as u32 * 9 + 7;
        for workers in [1, 2, 3] {
            let mut seen = Vec::new();
            // Each worker counts the items it mapped: chunks are dealt in turn, so item `i` is the
            // worker's item number `(chunk / workers) * CHUNK + i % CHUNK`.
            let result: Result<(), u32> = map_in_order_with(
                (0..n).map(Ok::<u32, u32>),
                workers,
                || 0u32,
                |count, i| {
                    *count += 1;
                    Some((i, *count - 1))
                },
                |(i, count)| {
                    seen.push(i);
                    let chunk = i / CHUNK as u32;
                    let expected = chunk / workers as u32 * CHUNK as u32 + i % CHUNK as u32;
                    if count == expected { Ok(()) } else { Err(i) }
                },
            );
            assert_eq!(result, Ok(()), "{workers} workers");
            assert_eq!(seen, (0..n).collect::<Vec<u32>>(), "{workers} workers");
        }
    }

    #[test]
    fn a_reading_error_ends_the_stream_after_the_items_before_it() {
        let at = CHUNK as u32 * 3 + 5;
        for workers in [1, 2, 5] {
            let (seen, result) = run(CHUNK as u32 * 6, workers, Some(at), None);
            assert_eq!(result, Err(Failure::Read(at)));
            let expected: Vec<u32> = (0..at).filter(|i| i % 3 != 0).map(|i| i * 2).collect();
            assert_eq!(seen, expected, "{workers} workers");
        }
    }

    #[test]
    fn a_panic_while_mapping_is_a_panic_of_the_caller_not_a_shorter_stream() {
        let n = CHUNK as u32 * 6;
        let caught = std::panic::catch_unwind(|| {
            let mut seen = 0;
            let items = (0..n).map(Ok::<u32, u32>);
            let result: Result<(), Failure> = map_in_order(
                items,
                2,
                |i| {
                    assert!(i != CHUNK as u32 * 3 + 1, "mapping failed");
                    Some(i)
                },
                |_| {
                    seen += 1;
                    Ok(())
                },
            );
            (result, seen)
        });
        assert!(caught.is_err(), "the stream ended quietly: {caught:?}");
    }

    #[test]
    fn a_sink_error_stops_everything_without_waiting_for_the_rest() {
        // Item CHUNK + 2 is kept (not a multiple of 3), as is CHUNK, the one kept before it.
        let stop = (CHUNK as u32 + 2) * 2;
        let (seen, result) = run(CHUNK as u32 * 50, 2, None, Some(stop));
        assert_eq!(result, Err(Failure::Sink(stop)));
        assert_eq!(seen.last(), Some(&(CHUNK as u32 * 2)));
    }
}
