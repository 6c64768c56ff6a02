//! The classifier's verdicts are a pure function of the item: the same in any order, on any thread,
//! from any classifier built from the same rules, whatever other classifiers ran on the thread (so
//! the per-thread scratch buffers never leak state).
//!
//! The corpus is the hand-labelled sets, the same tickets mangled (upper case, non-ASCII letters,
//! curly apostrophes, noise, log blocks) and the simulator's generator. With `TWOTRACK_GOLDEN=PATH`
//! the test also snapshots every verdict to PATH (when the file does not exist) or compares every
//! verdict, field by field and bit for bit, with that snapshot: take one before changing how the
//! classifier computes, compare after. Without it, a smaller corpus keeps the suite quick.

use std::path::Path;

use twotrack::classify::{Classifier, PriorityMatrix, QueueSpec, RuleSpec, Verdict, default_queues};
use twotrack_api::Item;

use crate::classify_support;

/// Hand-labelled tickets as items (only what the classifier reads).
fn fixtures() -> Vec<Item> {
    let out = classify_support::hand_labelled();
    assert!(out.len() >= 400, "the labelled fixtures are missing");
    out
}

/// A small deterministic generator for the noise.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % n as u64) as usize
    }
}

/// Scatter noise through a text: dropped and doubled characters, punctuation, digits, non-ASCII
/// letters, line breaks.
fn noisy(text: &str, rng: &mut Lcg) -> String {
    const INSERTS: &[&str] = &[
        ".",
        ",",
        ";",
        "!",
        "?",
        "'",
        "\u{2019}",
        "-",
        "1,200",
        " 2am ",
        "504s",
        "\n",
        "é",
        "İ",
        "ß",
        "Σ",
        "日本",
        "🙂",
        "\u{a0}",
        "``` ",
        "{code}",
        " INC0012345 ",
        " v6.20 ",
        " 10.0.0.12 ",
        " jane.doe ",
        "\t",
        "..",
        "%",
    ];
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        match rng.next(40) {
            0 => {}
            1 => {
                out.push(c);
                out.push(c);
            }
            2 | 3 => {
                out.push(c);
                out.push_str(INSERTS[rng.next(INSERTS.len())]);
            }
            _ => out.push(c),
        }
    }
    out
}

/// The fixtures, mangled in ways real tickets are.
fn variants(base: &[Item]) -> Vec<Item> {
    let mut rng = Lcg(0x5eed);
    let mut out = Vec::new();
    for item in base {
        let mut upper = item.clone();
        upper.summary = item.summary.to_uppercase();
        upper.description = item.description.to_uppercase();
        upper.filed_type = item.filed_type.to_uppercase();
        upper.labels = item.labels.iter().map(|l| l.to_uppercase()).collect();
        out.push(upper);

        let mut unicode = item.clone();
        unicode.summary = format!("Ünïcödé naïve café: {}", item.summary.replace('\'', "\u{2019}").replace('e', "é"));
        unicode.description =
            format!("{}\nİstanbul straße ΣΑΣ 東京 ﬁle — “quoted” can’t won’t 3,5 users", item.description);
        out.push(unicode);

        let mut merged = item.clone();
        merged.summary = format!("{} {}", item.summary, item.description);
        merged.description = format!(
            "{}\n```\n2024-03-01 12:00:01 ERROR {}\n```\n    at com.acme.Shop.total(Shop.java:42)\n{}",
            item.summary, item.summary, item.description
        );
        out.push(merged);

        for _ in 0..2 {
            let mut noise = item.clone();
            noise.summary = noisy(&item.summary, &mut rng);
            noise.description = noisy(&item.description, &mut rng);
            out.push(noise);
        }

        // Types, labels and fields as evidence quotes them: padded, quoted, escaped, non-ASCII.
        let k = out.len() % 4;
        let mut odd = item.clone();
        odd.filed_type =
            [format!(" {} ", item.filed_type), "Bug \"p1\"".into(), "Störung".into(), "story\t".into()][k].clone();
        odd.labels.extend(["UX", "check\"out", "Checkout", "naïve\\x"].iter().take(k + 1).map(|l| l.to_string()));
        let contact = ["phone", "Phone", "e-mail \"x\"", "télé"][k];
        odd.fields.insert("contact_type".into(), contact.into());
        odd.fields.insert("category".into(), ["Network\\DNS", "0", " ", "database"][k].into());
        out.push(odd);
    }
    out
}

/// A configuration unlike the defaults: fewer queues (some default rules then do not route), other
/// names, user rules with gaps, prefixes, alternatives, facts, labels and fields.
fn custom() -> Classifier {
    let queue = |name: &str, terms: &[&str]| QueueSpec {
        name: name.into(),
        group: name.into(),
        terms: terms.iter().map(|t| t.to_string()).collect(),
    };
    let rule = |id: &str, phrases: &[&str]| RuleSpec {
        id: id.into(),
        description: None,
        phrases: phrases.iter().map(|p| p.to_string()).collect(),
        types: vec![],
        labels: vec![],
        fields: vec![],
        class: None,
        kind: None,
        weight: 1.0,
        queue: None,
        impact: None,
        urgency: None,
        disabled: false,
    };
    let mut rules = vec![
        RuleSpec {
            queue: Some("access".into()),
            weight: 2.0,
            ..rule("user-access", &["{grant,give} ..2 {access,permission*}", "unlock* .. account"])
        },
        RuleSpec { class: Some("work".parse().unwrap()), weight: 1.5, ..rule("user-fact", &["fact:many", "fact:ip"]) },
        RuleSpec { urgency: Some(1), ..rule("user-urgent", &["asap .. please", "right now"]) },
        RuleSpec {
            class: Some("value".parse().unwrap()),
            labels: vec!["Checkout".into(), "ux".into()],
            ..rule("user-label", &[])
        },
        RuleSpec {
            kind: Some("incident".parse().unwrap()),
            fields: vec!["contact_type=phone".into(), "category".into()],
            ..rule("user-field", &[])
        },
    ];
    let mut queues = vec![queue("access", &["password", "login"]), queue("hosting", &["server", "vm*"])];
    queues.push(default_queues().pop().unwrap());
    rules.push(RuleSpec { disabled: true, ..rule("type-story", &["x"]) });
    Classifier::new(&rules, &queues, &PriorityMatrix::default()).unwrap()
}

/// Every field of a verdict, `f64`s as their bits.
fn render(id: &str, v: &Verdict) -> String {
    let reasons: Vec<String> = v
        .reasons
        .iter()
        .map(|r| format!("{}|{}|{}|{:016x}", r.rule, r.supports, r.evidence, r.weight.to_bits()))
        .collect();
    format!(
        "{id}\t{}\t{}\t{:016x}\t{:016x}\t{:?}\t{:?}\t{:?}\t{:?}\t{}",
        v.class,
        v.kind,
        v.confidence.to_bits(),
        v.margin.to_bits(),
        v.queue,
        v.impact,
        v.urgency,
        v.priority,
        serde_json::to_string(&reasons).unwrap()
    )
}

fn render_all(classifier: &Classifier, items: &[Item], tag: &str) -> Vec<String> {
    items.iter().map(|i| render(&format!("{tag}:{}", i.key), &classifier.classify(i))).collect()
}

#[test]
fn verdicts_are_deterministic_and_match_the_snapshot() {
    let golden = std::env::var_os("TWOTRACK_GOLDEN");
    let fixtures = fixtures();
    let mut items = fixtures.clone();
    items.extend(variants(&fixtures));
    if golden.is_some() {
        for seed in [7, 11, 23, 42] {
            items.extend(classify_support::generated(seed, 2500));
        }
    } else {
        items.extend(classify_support::generated(11, 500));
    }
    let defaults = Classifier::with_defaults();
    let custom = custom();
    let mut lines = render_all(&defaults, &items, "default");
    lines.extend(render_all(&custom, &items[..fixtures.len() * 7], "custom"));

    // The same verdicts backwards, and on another thread from another classifier.
    let mut backwards: Vec<String> =
        items.iter().rev().map(|i| render(&format!("default:{}", i.key), &defaults.classify(i))).collect();
    backwards.reverse();
    assert!(lines[..items.len()] == backwards[..], "verdicts depend on the order items are classified in");
    // Two classifiers with other rules taking turns on one thread.
    for (k, item) in items[..fixtures.len()].iter().enumerate() {
        assert_eq!(render(&format!("default:{}", item.key), &defaults.classify(item)), lines[k]);
        assert_eq!(render(&format!("custom:{}", item.key), &custom.classify(item)), lines[items.len() + k]);
    }
    // A huge ticket between two others changes neither.
    let mut huge = items[0].clone();
    huge.description = "Checkout is down for everyone. ".repeat(60_000);
    assert_eq!(defaults.classify(&huge).class, twotrack_api::Class::Work);
    assert_eq!(render(&format!("default:{}", items[1].key), &defaults.classify(&items[1])), lines[1]);
    let sample: Vec<Item> = items.iter().step_by(7).cloned().collect();
    let expected: Vec<String> = lines[..items.len()].iter().step_by(7).cloned().collect();
    let threaded = std::thread::spawn(move || render_all(&Classifier::with_defaults(), &sample, "default"));
    assert!(threaded.join().unwrap() == expected, "verdicts differ between threads");

    let Some(path) = golden else { return };
    let path = Path::new(&path);
    if !path.exists() {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
        println!("snapshot of {} verdicts written to {}", lines.len(), path.display());
        return;
    }
    let snapshot = std::fs::read_to_string(path).unwrap();
    let want: Vec<&str> = snapshot.lines().collect();
    assert_eq!(want.len(), lines.len(), "the snapshot has another corpus");
    let diffs: Vec<(usize, &str, &String)> =
        want.iter().zip(&lines).enumerate().filter(|(_, (w, g))| *w != *g).map(|(i, (w, g))| (i, *w, g)).collect();
    for (i, w, g) in diffs.iter().take(5) {
        eprintln!("line {i}\n  want {w}\n  got  {g}");
    }
    assert!(diffs.is_empty(), "{} of {} verdicts differ from the snapshot", diffs.len(), lines.len());
    println!("{} verdicts identical to the snapshot", lines.len());
}
