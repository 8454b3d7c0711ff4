//! Property: both engines' cursors behave like a sorted map with bounds — the contract the
//! readers rely on (seek, seek_for_prev, first, last, next, prev).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;

use common::*;
use mvcc::{Cf, IterBounds, Modify};
use proptest::prelude::*;

fn key() -> impl Strategy<Value = Vec<u8>> {
    proptest::collection::vec(0u8..4, 0..3)
}

fn run(
    e: &dyn TestEngine,
    puts: &[(Vec<u8>, bool)],
    bounds: &IterBounds,
    moves: &[(u8, Vec<u8>)],
) -> Result<(), TestCaseError> {
    let mut model = BTreeMap::new();
    for (i, (k, put)) in puts.iter().enumerate() {
        let m = if *put {
            model.insert(k.clone(), vec![i as u8]);
            Modify::Put {
                cf: Cf::Write,
                key: k.clone(),
                value: vec![i as u8],
            }
        } else {
            model.remove(k);
            Modify::Delete {
                cf: Cf::Write,
                key: k.clone(),
            }
        };
        // A decoy in another family must never show.
        e.apply(vec![
            m,
            Modify::Put {
                cf: Cf::Default,
                key: k.clone(),
                value: b"x".to_vec(),
            },
        ]);
        if i == puts.len() / 2 {
            e.flush();
        }
    }
    let visible: Vec<(Vec<u8>, Vec<u8>)> = model
        .into_iter()
        .filter(|(k, _)| bounds.contains(k))
        .collect();
    let snap = e.snap();
    let mut c = snap.iter_cf(Cf::Write, bounds.clone()).unwrap();
    let mut pos: Option<usize> = None;
    for (op, target) in moves {
        let valid = match op {
            0 => {
                pos = visible.iter().position(|(k, _)| k >= target);
                c.seek(target).unwrap()
            }
            1 => {
                pos = visible.iter().rposition(|(k, _)| k <= target);
                c.seek_for_prev(target).unwrap()
            }
            2 => {
                pos = (!visible.is_empty()).then_some(0);
                c.seek_to_first().unwrap()
            }
            3 => {
                pos = visible.len().checked_sub(1);
                c.seek_to_last().unwrap()
            }
            4 if pos.is_some() => {
                pos = pos.map(|p| p + 1).filter(|&p| p < visible.len());
                c.next().unwrap()
            }
            _ if pos.is_some() => {
                pos = pos.and_then(|p| p.checked_sub(1));
                c.prev().unwrap()
            }
            _ => continue,
        };
        prop_assert_eq!(valid, pos.is_some(), "{} op {}", e.name(), op);
        prop_assert_eq!(c.valid(), valid);
        if let Some(p) = pos {
            prop_assert_eq!(
                (c.key(), c.value()),
                (visible[p].0.as_slice(), visible[p].1.as_slice())
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]
    #[test]
    fn cursors_match_a_sorted_map(
        puts in proptest::collection::vec((key(), any::<bool>()), 0..30),
        lower in proptest::option::of(key()),
        upper in proptest::option::of(key()),
        moves in proptest::collection::vec((0u8..6, key()), 1..30),
    ) {
        let bounds = IterBounds { lower, upper };
        for e in engines() {
            run(&*e, &puts, &bounds, &moves)?;
        }
    }
}
