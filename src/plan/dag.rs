//! The dependency graph of a workflow's steps and a deterministic execution order.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap};

/// Steps by index, each with the indices of the steps it depends on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dag {
    deps: Vec<BTreeSet<usize>>,
    order: Vec<usize>,
    cycles: Vec<Vec<usize>>,
}

impl Dag {
    /// Builds the graph from each step's dependencies. The order is topological; among
    /// steps that are ready at the same time, the one declared first in the file comes
    /// first, so the order is stable and reads like the file.
    pub fn build(deps: &[BTreeSet<usize>]) -> Dag {
        let n = deps.len();
        let deps: Vec<BTreeSet<usize>> = deps
            .iter()
            .map(|d| d.iter().copied().filter(|&i| i < n).collect())
            .collect();
        let mut dependants = vec![Vec::new(); n];
        let mut waiting: Vec<usize> = deps.iter().map(BTreeSet::len).collect();
        for (i, d) in deps.iter().enumerate() {
            for &j in d {
                dependants[j].push(i);
            }
        }
        let mut ready: BinaryHeap<Reverse<usize>> =
            (0..n).filter(|&i| waiting[i] == 0).map(Reverse).collect();
        let mut order = Vec::with_capacity(n);
        while let Some(Reverse(i)) = ready.pop() {
            order.push(i);
            for &k in &dependants[i] {
                waiting[k] -= 1;
                if waiting[k] == 0 {
                    ready.push(Reverse(k));
                }
            }
        }
        let cycles = if order.len() == n {
            Vec::new()
        } else {
            find_cycles(&deps, &order)
        };
        Dag {
            deps,
            order,
            cycles,
        }
    }

    /// Step indices in execution order (steps on a cycle are left out).
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// The steps `step` depends on.
    pub fn deps(&self, step: usize) -> &BTreeSet<usize> {
        &self.deps[step]
    }

    /// Every edge, as (dependency, dependant), sorted.
    pub fn edges(&self) -> Vec<(usize, usize)> {
        let mut edges: Vec<(usize, usize)> = self
            .deps
            .iter()
            .enumerate()
            .flat_map(|(i, d)| d.iter().map(move |&j| (j, i)))
            .collect();
        edges.sort_unstable();
        edges
    }

    /// Each distinct cycle once, as the steps on it in dependency order, starting from its
    /// lowest index.
    pub fn cycles(&self) -> &[Vec<usize>] {
        &self.cycles
    }
}

/// Finds the cycles among the steps Kahn's algorithm could not order.
fn find_cycles(deps: &[BTreeSet<usize>], ordered: &[usize]) -> Vec<Vec<usize>> {
    let done: BTreeSet<usize> = ordered.iter().copied().collect();
    let mut seen_on_cycle = BTreeSet::new();
    let mut cycles = Vec::new();
    for start in (0..deps.len()).filter(|i| !done.contains(i)) {
        if seen_on_cycle.contains(&start) {
            continue;
        }
        // Walk dependencies from `start` among unordered steps until a step repeats; every
        // unordered step has an unordered dependency, so the walk always closes.
        let mut path = vec![start];
        let mut current = start;
        while let Some(&next) = deps[current].iter().find(|d| !done.contains(d)) {
            if let Some(pos) = path.iter().position(|&p| p == next) {
                let mut cycle: Vec<usize> = path[pos..].to_vec();
                // Dependencies point backwards; reverse so the cycle reads a → b (b needs a).
                cycle.reverse();
                let min = cycle
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, v)| **v)
                    .map_or(0, |(i, _)| i);
                cycle.rotate_left(min);
                if cycle.iter().all(|c| !seen_on_cycle.contains(c)) {
                    seen_on_cycle.extend(cycle.iter().copied());
                    cycles.push(cycle);
                }
                break;
            }
            path.push(next);
            current = next;
        }
    }
    cycles
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn dag(edges: &[&[usize]]) -> Dag {
        let deps: Vec<BTreeSet<usize>> =
            edges.iter().map(|d| d.iter().copied().collect()).collect();
        Dag::build(&deps)
    }

    #[test]
    fn orders_by_dependencies_then_file_order() {
        // 0 needs 2, 1 needs nothing, 2 needs 1, 3 needs nothing.
        let d = dag(&[&[2], &[], &[1], &[]]);
        assert_eq!(d.order(), &[1, 2, 0, 3]);
        assert!(d.cycles().is_empty());
        assert_eq!(d.edges(), vec![(1, 2), (2, 0)]);
    }

    #[test]
    fn names_each_cycle_once() {
        // 0 → 1 → 0 (0 needs 1, 1 needs 0), 2 needs 0, 3 ↔ 4.
        let d = dag(&[&[1], &[0], &[0], &[4], &[3]]);
        assert_eq!(d.order(), &[] as &[usize]);
        assert_eq!(d.cycles(), &[vec![0, 1], vec![3, 4]]);
        let d = dag(&[&[2], &[0], &[1]]);
        assert_eq!(d.cycles(), &[vec![0, 1, 2]]);
    }

    proptest! {
        #[test]
        fn order_respects_every_edge_and_never_accepts_a_cycle(
            raw in proptest::collection::vec(proptest::collection::btree_set(0usize..12, 0..4), 1..12)
        ) {
            let d = Dag::build(&raw);
            let pos: std::collections::HashMap<usize, usize> =
                d.order().iter().enumerate().map(|(p, &s)| (s, p)).collect();
            for (from, to) in d.edges() {
                if let (Some(a), Some(b)) = (pos.get(&from), pos.get(&to)) {
                    prop_assert!(a < b);
                }
            }
            prop_assert_eq!(d.order().len() == raw.len(), d.cycles().is_empty());
        }
    }
}
