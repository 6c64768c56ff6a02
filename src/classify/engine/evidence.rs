//! The class and kind from the fired rules' evidence: Work evidence against Value evidence (the
//! margin), the calibrated confidence, the reasons; and each fired rule's evidence quoted as written.

use twotrack_api::{Class, Item, Kind};

use super::fire::field_value;
use super::{Affected, Classifier, Fired, Hit, Scratch};
use crate::classify::text::{Field, Normalized};
use crate::classify::{Reason, Verdict, calibrate};

/// How much kind evidence counts when it comes from a rule of the class that lost.
const OPPOSED_KIND: f64 = 0.3;

impl Classifier {
    /// What a fired rule found: the quoted hit, then the type, label and field it matched.
    pub(super) fn evidence(&self, item: &Item, text: &Normalized, f: &Fired) -> String {
        let rule = &self.rules[f.rule];
        // Room for what follows the quote: `, type "Story"`, `, label "x"`, `, name "value"`.
        let label = f.label.and_then(|l| item.labels.get(l));
        let field = f.field.and_then(|i| rule.fields.get(i));
        let more = if rule.types.is_empty() { 0 } else { item.filed_type.len() + 10 }
            + label.map_or(0, |l| l.len() + 11)
            + field.map_or(0, |(name, _)| name.len() + 24);
        let mut evidence = match &f.hit {
            Some(h) => quote(item, text, h, more),
            None => String::with_capacity(more),
        };
        let mut add = |what: &str, value: &str| {
            if !evidence.is_empty() {
                evidence.push_str(", ");
            }
            evidence.push_str(what);
            evidence.push(' ');
            push_debug(&mut evidence, value);
        };
        if !rule.types.is_empty() {
            add("type", &item.filed_type);
        }
        if let Some(label) = label {
            add("label", label);
        }
        if let Some((name, want)) = field
            && let Some(value) = field_value(item, name, want.as_deref())
        {
            add(name, value);
        }
        evidence
    }

    pub(super) fn verdict(
        &self,
        item: &Item,
        s: &mut Scratch,
        affected: &[Affected],
        forced: Option<Class>,
    ) -> Verdict {
        let (text, fired) = (&s.text, &s.fired);
        // The class evidence of the rules that speak for a class or kind (queue terms do not).
        let speaks = |f: &&Fired| {
            let rule = &self.rules[f.rule];
            !rule.queue_terms && (rule.class.is_some() || rule.kind.is_some())
        };
        let (mut work, mut value, mut said) = (0.0, 0.0, 0);
        for f in fired.iter().filter(speaks) {
            let rule = &self.rules[f.rule];
            match rule.class {
                Some(Class::Work) => work += rule.weight * f.factor,
                Some(Class::Value) => value += rule.weight * f.factor,
                None => {}
            }
            said += 1;
        }
        let margin = work - value;
        let class = forced.unwrap_or(if margin > 0.0 { Class::Work } else { Class::Value });
        // Work adds the queue, impact, urgency and priority reasons.
        let mut reasons = Vec::with_capacity(said + if class == Class::Work { 4 } else { 0 });
        for f in fired.iter().filter(speaks) {
            let rule = &self.rules[f.rule];
            let evidence = self.evidence(item, text, f);
            let weight = rule.weight * f.factor;
            let (supports, subject) = (rule.supports.clone(), rule.subject);
            reasons.push(Reason { rule: rule.id.clone(), supports, subject, evidence, weight });
        }
        // Kind evidence from rules of the other class counts little: "please reset" in a Value item
        // does not make it a feature.
        let (mut broken, mut wanted) = (0.0, 0.0);
        for f in fired {
            let rule = &self.rules[f.rule];
            let w = rule.weight * f.factor * if rule.class.is_none_or(|c| c == class) { 1.0 } else { OPPOSED_KIND };
            match rule.kind {
                Some(Kind::Defect | Kind::Incident) => broken += w,
                Some(Kind::Feature | Kind::Request) => wanted += w,
                None => {}
            }
        }
        let kind = match (class, broken > wanted) {
            (Class::Value, true) => Kind::Defect,
            (Class::Value, false) => Kind::Feature,
            (Class::Work, true) => Kind::Incident,
            (Class::Work, false) => Kind::Request,
        };
        let (support, against) = if class == Class::Work { (work, value) } else { (value, work) };
        let confidence = calibrate(support, against);
        let mut verdict = Verdict {
            class,
            kind,
            confidence,
            margin,
            work,
            value,
            queue: None,
            impact: None,
            urgency: None,
            priority: None,
            reasons,
        };
        if class == Class::Work {
            self.work_details(item, s, affected, &mut verdict);
        }
        verdict
    }
}

/// The original words of a hit, with where they were found: `summary "Reset my password"` (at most 80
/// characters, white space collapsed), in a string with room for `more` bytes after it.
pub(super) fn quote(item: &Item, text: &Normalized, h: &Hit, more: usize) -> String {
    let (first, last) = (&text.words[h.start], &text.words[h.end.saturating_sub(1).max(h.start)]);
    let source = if first.field == Field::Summary { &item.summary } else { &item.description };
    let span = source.get(first.source.0 as usize..last.source.1 as usize).unwrap_or_default();
    let mut s = String::with_capacity(span.len().min(84) + 16 + more);
    s.push_str(h.field.as_str());
    s.push_str(" \"");
    push_words(&mut s, span);
    s.push('"');
    s
}

/// Append the words of `span` to `s`: white space collapsed to single spaces, `"` dropped, and
/// stopping with `…` once `s` is longer than 90 bytes.
fn push_words(s: &mut String, span: &str) {
    if !span.is_ascii() {
        for (i, word) in span.split_whitespace().enumerate() {
            if i > 0 {
                s.push(' ');
            }
            s.extend(word.chars().filter(|&c| c != '"'));
            if s.len() > 90 {
                s.push('…');
                break;
            }
        }
        return;
    }
    // The same words, byte by byte: in ASCII, `split_whitespace` splits at these six bytes.
    let white = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c);
    let b = span.as_bytes();
    let (mut i, mut first) = (0, true);
    loop {
        while i < b.len() && white(b[i]) {
            i += 1;
        }
        if i == b.len() {
            break;
        }
        let (start, mut quoted) = (i, false);
        while i < b.len() && !white(b[i]) {
            quoted |= b[i] == b'"';
            i += 1;
        }
        if !first {
            s.push(' ');
        }
        first = false;
        let word = &span[start..i];
        if quoted {
            s.extend(word.chars().filter(|&c| c != '"'));
        } else {
            s.push_str(word);
        }
        if s.len() > 90 {
            s.push('…');
            break;
        }
    }
}

/// Append `value` as `{value:?}` would write it: quoted, escaped. Printable ASCII needs no escapes
/// but for `"` and `\\`.
fn push_debug(out: &mut String, value: &str) {
    if value.bytes().all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(value);
        out.push('"');
    } else {
        let _ = std::fmt::Write::write_fmt(out, format_args!("{value:?}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_text_is_written_as_debug_writes_it() {
        for value in ["Story", "Bug \"p1\"", "a\\b", "tab\there", "Störung", "", "'single'", "\u{7f}", "é\u{301}"] {
            let mut out = String::new();
            push_debug(&mut out, value);
            assert_eq!(out, format!("{value:?}"));
        }
    }

    #[test]
    fn quoted_words_are_the_same_in_ascii_and_not() {
        // The general way, for any text.
        let reference = |prefix: &str, span: &str| {
            let mut s = prefix.to_string();
            for (i, word) in span.split_whitespace().enumerate() {
                if i > 0 {
                    s.push(' ');
                }
                s.extend(word.chars().filter(|&c| c != '"'));
                if s.len() > 90 {
                    s.push('…');
                    break;
                }
            }
            s
        };
        let long = "word ".repeat(30);
        for span in ["", "  a  b\t\nc\x0b\x0cd\re ", "\" leading quote", "say \"hi\" \"\" x", &long, "x\x1fy z"] {
            for prefix in ["summary \"", "log excerpt \""] {
                let mut s = prefix.to_string();
                push_words(&mut s, span);
                assert_eq!(s, reference(prefix, span), "{span:?}");
            }
        }
    }
}
