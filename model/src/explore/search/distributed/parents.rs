//! After the search: each discovery's path of fingerprints is walked back
//! to the initial state by asking each fingerprint's owner for its parent
//! (a second small dataflow, one round per step), and the path of states
//! is rebuilt by re-running the model from the initial state, at each step
//! taking the action whose successor has the next fingerprint.

use super::level::{route, Visited};
use super::Shared;
use crate::explore::search::Path;
use serde::{Deserialize, Serialize};
use stateright::Model;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::Hash;
use std::rc::Rc;
use std::time::Duration;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::operators::vec::{Broadcast, Filter, Map};
use timely::dataflow::operators::{Concat, ConnectLoop, Feedback, Probe, ToStream};
use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

/// One answer: for the discovery of property `0`, the state `1` has parent `2` (`None` if
/// its owner does not know it, which would be a bug).
type Answer = (u32, u64, Option<u64>);

/// Walks each of `wanted` (a discovery's index and fingerprint, given on
/// worker 0) back to the initial state on `worker`, whose part of the
/// parent map is `visited`. Every worker gets every answer; returns, for
/// each discovery, its fingerprints from the initial state on, or `None`
/// if a parent was missing.
pub(super) fn walk_back(
    worker: &mut Worker,
    visited: Rc<RefCell<Visited>>,
    wanted: &[(u32, u64)],
    init_key: u64,
) -> Vec<Option<Vec<u64>>> {
    let start: Vec<(u32, u64)> = if worker.index() == 0 { wanted.to_vec() } else { Vec::new() };
    let answers: Rc<RefCell<Vec<Answer>>> = Rc::default();
    let probe = ProbeHandle::new();
    worker.dataflow::<u64, _, _>(|scope| {
        let (handle, cycle) = scope.feedback::<Vec<(u32, u64)>>(1);
        let asked = start.to_stream(scope).concat(cycle);
        let answered = asked.unary::<timely::container::CapacityContainerBuilder<Vec<Answer>>, _, _, _>(
            Exchange::new(|q: &(u32, u64)| route(q.1)),
            "Parent",
            move |_, _| {
                move |input, output| {
                    input.for_each_stamp(|cap, data| {
                        let mut session = output.session(&cap);
                        let visited = visited.borrow();
                        for batch in data {
                            for (which, key) in batch.drain(..) {
                                session.give((which, key, visited.get(&key).copied()));
                            }
                        }
                    });
                }
            },
        );
        let collected = answers.clone();
        answered.clone().broadcast().probe_with(&probe).sink(
            timely::dataflow::channels::pact::Pipeline,
            "Collect",
            move |(input, _)| {
                input.for_each_stamp(|_, data| {
                    for batch in data {
                        collected.borrow_mut().append(batch);
                    }
                });
            },
        );
        answered
            .filter(move |(_, key, parent)| parent.is_some_and(|p| p != *key) && *key != init_key)
            .map(|(which, _, parent)| (which, parent.expect("filtered")))
            .probe_with(&probe)
            .connect_loop(handle);
    });
    worker.step_or_park_while(Some(Duration::from_millis(100)), || !probe.done());
    let answers = answers.borrow();
    wanted
        .iter()
        .map(|&(which, key)| {
            let parents: HashMap<u64, Option<u64>> =
                answers.iter().filter(|a| a.0 == which).map(|&(_, k, p)| (k, p)).collect();
            let mut chain = vec![key];
            let mut at = key;
            while at != init_key {
                at = (*parents.get(&at)?)?;
                if chain.len() > parents.len() + 1 {
                    return None;
                }
                chain.push(at);
            }
            chain.reverse();
            Some(chain)
        })
        .collect()
}

/// The path through the model whose states have the fingerprints `keys`
/// (from the initial state's on): from each state, the first action whose
/// successor has the next fingerprint. `None` if no action does (two
/// states shared a fingerprint).
pub(super) fn rebuild<M>(shared: &Shared<M>, keys: &[u64]) -> Option<Path<M::State, M::Action>>
where
    M: Model,
    M::State: Clone + Hash + Serialize + for<'a> Deserialize<'a>,
    M::Action: Clone,
{
    let model = &shared.model;
    let mut state = model.init_states().into_iter().next()?;
    let mut path = Vec::with_capacity(keys.len());
    let mut actions = Vec::new();
    for &want in &keys[1..] {
        actions.clear();
        model.actions(&state, &mut actions);
        let (action, next) = actions.drain(..).find_map(|action| {
            let next = model.next_state(&state, action.clone())?;
            (shared.key(&next) == want).then_some((action, next))
        })?;
        path.push((state, Some(action)));
        state = next;
    }
    path.push((state, None));
    Some(path)
}
