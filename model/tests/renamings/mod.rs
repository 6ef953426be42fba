//! The exact symmetry classes the reduction tests compare against: a state's
//! class is the least of a figure over every renaming of its unpinned
//! servers, found by trying them all (small clusters only).

use raftcheck_model::explore::state::ClusterState;
use raftcheck_model::explore::symmetry::relabel;

/// Every order of `items`.
fn permutations(items: Vec<usize>) -> Vec<Vec<usize>> {
    if items.len() <= 1 {
        return vec![items];
    }
    let mut all = Vec::new();
    for k in 0..items.len() {
        let mut rest = items.clone();
        let first = rest.remove(k);
        for mut p in permutations(rest) {
            p.insert(0, first);
            all.push(p);
        }
    }
    all
}

/// The least `figure` of `state` renamed in every way that keeps its pinned
/// servers in place. Two states are in the same class exactly when this is
/// equal for an injective `figure`.
pub fn least_over_renamings(state: &ClusterState, figure: impl Fn(&ClusterState) -> u64) -> u64 {
    let n = state.servers.len();
    let free: Vec<usize> = (0..n).filter(|p| state.pinned & (1 << p) == 0).collect();
    permutations(free.clone())
        .into_iter()
        .map(|perm| {
            let mut order: Vec<usize> = (0..n).collect();
            for (slot, old) in free.iter().zip(perm) {
                order[*slot] = old;
            }
            figure(&relabel(state, &order))
        })
        .min()
        .expect("one permutation at least")
}
