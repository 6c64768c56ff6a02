//! A storm's priority: the impact of the whole event, from how many people it reaches, through the
//! configured impact x urgency matrix. Each report alone reads as one person's problem; together they
//! are an outage.

use serde::Serialize;

use super::{Storm, StormParams};
use crate::classify::PriorityMatrix;

/// The urgency of a storm no report states: an outage many people report is not a "whenever
/// convenient" matter.
const DEFAULT_URGENCY: u8 = 2;

/// A storm's priority and how it was derived.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StormPriority {
    /// How many people the storm reaches: the distinct reporters, or the largest count a report
    /// states, whichever is larger.
    pub reach: u64,
    pub impact: u8,
    pub urgency: u8,
    /// 1 (critical) ..= 5 (planning), from the matrix.
    pub priority: u8,
    /// The priority's name in the matrix ("1 - Critical").
    pub name: String,
    /// The derivation, step by step, in words.
    pub derivation: Vec<String>,
}

/// The largest count of affected people a member of `storm` states, with that member's key (the
/// first member stating it, where several do): [`prioritise`]'s `stated`. `affected` reads one
/// member's count (the classifier's counter on its text, the mirror's copy of it, say).
pub fn largest_stated<E>(
    storm: &Storm,
    mut affected: impl FnMut(&super::Member) -> Result<Option<u64>, E>,
) -> Result<Option<(u64, &str)>, E> {
    let mut stated: Option<(u64, &str)> = None;
    for m in &storm.members {
        if let Some(n) = affected(m)?
            && stated.is_none_or(|(most, _)| n > most)
        {
            stated = Some((n, &m.key));
        }
    }
    Ok(stated)
}

/// The storm's priority. `stated` is the largest count of affected people a member's text states
/// (read by the classifier's counter) with that member's key.
pub fn prioritise(
    storm: &Storm,
    stated: Option<(u64, &str)>,
    params: &StormParams,
    matrix: &PriorityMatrix,
) -> StormPriority {
    let reporters = storm.reporters as u64;
    let mut derivation = Vec::new();
    let people = |n: u64| if n == 1 { "1 person".to_string() } else { format!("{n} people") };
    let reach = match stated {
        Some((count, key)) if count > reporters => {
            derivation.push(format!(
                "reach {}: {key} states {count} affected, more than the {reporters} distinct reporters",
                people(count)
            ));
            count
        }
        _ => {
            let more = stated.map_or(String::new(), |(count, key)| format!(" ({key} states {count} affected)"));
            derivation.push(format!("reach {}: {reporters} distinct reporters{more}", people(reporters)));
            reporters
        }
    };
    let impact = match reach {
        r if r >= params.wide_reach => 1,
        0..=1 => 3,
        _ => 2,
    };
    derivation.push(match impact {
        1 => format!("impact 1: the storm reaches {reach} >= {} people (storm.wide_reach)", params.wide_reach),
        2 => format!("impact 2: the storm reaches {reach} people, fewer than {} (storm.wide_reach)", params.wide_reach),
        _ => "impact 3: the storm reaches one person".to_string(),
    });
    let most_urgent = storm.members.iter().filter_map(|m| m.urgency.map(|u| (u, &m.key))).min();
    let urgency = match most_urgent {
        Some((u, key)) => {
            derivation.push(format!("urgency {u}: the most urgent report ({key})"));
            u
        }
        None => {
            derivation.push(format!("urgency {DEFAULT_URGENCY}: no report states one; an outage many report"));
            DEFAULT_URGENCY
        }
    };
    let priority = matrix.priority(impact, urgency);
    let name = matrix.name(priority).to_string();
    derivation.push(format!("impact {impact} x urgency {urgency} -> {name} (the priority matrix)"));
    StormPriority { reach, impact, urgency, priority, name, derivation }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeDelta};

    use super::*;
    use crate::storm::Member;

    fn storm(reporters: usize, urgencies: &[Option<u8>]) -> Storm {
        let members: Vec<Member> = urgencies
            .iter()
            .enumerate()
            .map(|(i, &urgency)| Member {
                tracker: "servicenow".into(),
                key: format!("INC{i}"),
                url: String::new(),
                summary: String::new(),
                filed_type: "incident".into(),
                reporter: Some(format!("u{i}")),
                created: DateTime::UNIX_EPOCH + TimeDelta::minutes(i as i64),
                urgency,
                similarity: 1.0,
            })
            .collect();
        let (first, last) = (members[0].created, members[members.len() - 1].created);
        Storm { members, words: vec![], first, last, reporters, expected: 0.0 }
    }

    #[test]
    fn many_reporters_make_a_wide_impact() {
        let s = storm(25, &[Some(3), Some(2), None]);
        let p = prioritise(&s, None, &StormParams::default(), &PriorityMatrix::default());
        assert_eq!((p.reach, p.impact, p.urgency, p.priority), (25, 1, 2, 2));
        assert_eq!(p.name, "2 - High");
        assert!(p.derivation[0].contains("25 distinct reporters"), "{:?}", p.derivation);
        assert!(p.derivation[1].contains("storm.wide_reach"));
        assert!(p.derivation[2].contains("INC1"));
        assert!(p.derivation[3].contains("priority matrix"));
    }

    #[test]
    fn a_stated_count_larger_than_the_reporters_decides_the_reach() {
        let s = storm(6, &[Some(1), None]);
        let p = prioritise(&s, Some((200, "INC0")), &StormParams::default(), &PriorityMatrix::default());
        assert_eq!((p.reach, p.impact, p.urgency, p.priority), (200, 1, 1, 1));
        assert!(p.derivation[0].contains("INC0 states 200 affected"));
        let few = prioritise(&s, Some((3, "INC0")), &StormParams::default(), &PriorityMatrix::default());
        assert_eq!((few.reach, few.impact), (6, 2));
        assert!(few.derivation[0].contains("(INC0 states 3 affected)"));
    }

    #[test]
    fn the_configured_matrix_and_reach_are_used() {
        let s = storm(8, &[None]);
        let params = StormParams { wide_reach: 5, ..StormParams::default() };
        let matrix = PriorityMatrix { matrix: [[1, 1, 2], [2, 3, 4], [3, 4, 5]], ..PriorityMatrix::default() };
        let p = prioritise(&s, None, &params, &matrix);
        assert_eq!((p.impact, p.urgency, p.priority), (1, 2, 1));
        assert!(p.derivation[2].contains("no report states one"));
    }
}
