//! Which rules fire for an item: every phrase hit (gap phrases assembled from their parts, hits
//! inside a longer hit of a rule with a common effect silenced), then each rule's other conditions
//! (type, label, field), each rule once with the location factor of its best hit.

use twotrack_api::Item;

use super::{AtomInfo, Classifier, Fired, Hit, NO_HIT, Scratch, location_factor};

impl Classifier {
    /// Every phrase hit (into `s.hits`), with contained hits of rules with a common effect removed.
    pub(super) fn hits(&self, s: &mut Scratch) {
        let Scratch { text, tokens, occ, hits, containers, cover, .. } = s;
        // (first word, atom, sentence) of every atom occurrence, in text order.
        occ.clear();
        self.matcher.find(text, tokens, |w, atom| occ.push((w, atom, text.words[w].sentence)));
        // In text order (a word's occurrences come together; sort them too, by atom).
        occ.sort_unstable_by_key(|&(w, a, _)| (w, a.atom));
        hits.clear();
        for (i, &(start, a, sentence)) in occ.iter().enumerate() {
            let field = text.words[start].field;
            let end = start + a.words as usize;
            for &rule in &self.atom_rules[a.rules.0 as usize..a.rules.1 as usize] {
                hits.push(Hit { rule: rule as usize, start, end, field, gapped: false });
            }
            let seconds = &self.seconds[a.pairs.0 as usize..a.pairs.1 as usize];
            if seconds.is_empty() {
                continue;
            }
            // Gap phrases starting here: pair this occurrence with those that follow within the gap.
            let from = end;
            for &(next, second, n) in occ[i + 1..].iter().take_while(|o| o.0 <= from + self.widest_gap) {
                if n != sentence || next < from {
                    continue;
                }
                let Ok(k) = seconds.binary_search_by_key(&second.atom, |s| s.atom) else { continue };
                let phrases = seconds[k].phrases;
                for &p in &self.pair_phrases[phrases.0 as usize..phrases.1 as usize] {
                    let phrase = &self.phrases[p as usize];
                    if next - from > phrase.parts[1].1 {
                        continue;
                    }
                    let after = next + second.words as usize;
                    if let Some(end) = self.follow(occ, &phrase.parts[2..], after, sentence) {
                        hits.push(Hit { rule: phrase.rule, start, end, field, gapped: end - start > phrase.words });
                    }
                }
            }
        }
        // Only a contiguous hit of two or more words can contain another.
        containers.clear();
        containers.extend(hits.iter().filter(|h| !h.gapped && h.end - h.start >= 2));
        if containers.is_empty() {
            return;
        }
        // What the containers say, word by word: a hit can only be silenced where its first word is
        // covered by a container that says something in common.
        cover.clear();
        cover.resize(text.words.len(), 0);
        for o in containers.iter() {
            let effects = self.effects[o.rule].0;
            cover[o.start..o.end].iter_mut().for_each(|c| *c |= effects);
        }
        // Containers come in text order (by first word), so those that can hold a hit are the few
        // starting at most the longest container's length before it: a long ticket with thousands
        // of hits stays linear.
        debug_assert!(containers.is_sorted_by_key(|o| o.start));
        let longest = containers.iter().map(|o| o.end - o.start).max().unwrap_or(0);
        hits.retain(|h| {
            if cover.get(h.start).is_none_or(|&c| c & self.effects[h.rule].0 == 0) {
                return true;
            }
            let candidates = &containers[..containers.partition_point(|o| o.start <= h.start)];
            !candidates.iter().rev().take_while(|o| o.start + longest >= h.end).any(|o| {
                o.rule != h.rule
                    && o.end >= h.end
                    && (o.end - o.start) > (h.end - h.start)
                    && self.effects[o.rule].overlaps(self.effects[h.rule])
            })
        });
    }

    /// Where the remaining parts of a phrase end, if each follows the previous within its gap.
    /// `occ` is every occurrence ordered by first word.
    fn follow(
        &self,
        occ: &[(usize, AtomInfo, u32)],
        parts: &[(usize, usize)],
        from: usize,
        sentence: u32,
    ) -> Option<usize> {
        let Some((&(part, gap), rest)) = parts.split_first() else { return Some(from) };
        let first = occ.partition_point(|o| o.0 < from);
        occ[first..]
            .iter()
            .take_while(|o| o.0 <= from + gap)
            .filter(|o| o.1.atom as usize == part && o.2 == sentence)
            .find_map(|o| self.follow(occ, rest, o.0 + o.1.words as usize, sentence))
    }

    /// The rules that fire (into `s.fired`), each once, with the location factor of its best hit.
    pub(super) fn fire(&self, item: &Item, s: &mut Scratch) {
        let Scratch { hits, best, count, dirty, fired, .. } = s;
        // `best` and `count` are all unset between items; set them anew if the last item did not
        // finish (or was classified by a classifier with other rules).
        if *dirty || best.len() != self.rules.len() {
            best.clear();
            best.resize(self.rules.len(), NO_HIT);
            count.clear();
            count.resize(self.rules.len(), 0);
        }
        *dirty = true;
        for (k, h) in hits.iter().enumerate() {
            count[h.rule] += 1;
            let slot = &mut best[h.rule];
            if *slot == NO_HIT || location_factor(h.field) > location_factor(hits[*slot].field) {
                *slot = k;
            }
        }
        let filed_type = item.filed_type.trim();
        fired.clear();
        for (i, &needs_hit) in self.needs_hit.iter().enumerate() {
            if needs_hit && best[i] == NO_HIT {
                continue;
            }
            let rule = &self.rules[i];
            let typed = rule.types.is_empty() || rule.types.iter().any(|t| t.eq_ignore_ascii_case(filed_type));
            if !typed {
                continue;
            }
            let label = item.labels.iter().position(|l| rule.labels.iter().any(|r| l.eq_ignore_ascii_case(r)));
            if !rule.labels.is_empty() && label.is_none() {
                continue;
            }
            let field = rule.fields.iter().position(|(name, want)| field_value(item, name, want.as_deref()).is_some());
            if !rule.fields.is_empty() && field.is_none() {
                continue;
            }
            let hit = hits.get(best[i]).copied();
            let factor = hit.map_or(1.0, |h| location_factor(h.field));
            fired.push(Fired { rule: i, factor, hits: count[i].max(1), hit, label, field });
        }
        for h in hits.iter() {
            best[h.rule] = NO_HIT;
            count[h.rule] = 0;
        }
        *dirty = false;
    }
}

/// The value of `item`'s field `name` when it satisfies a rule's field condition: present, not empty
/// or "0", and equal to `want` (case-insensitively) when the condition gives one.
pub(super) fn field_value<'a>(item: &'a Item, name: &str, want: Option<&str>) -> Option<&'a str> {
    let value = item.fields.get(name).map(|v| v.trim()).filter(|v| !v.is_empty() && *v != "0")?;
    want.is_none_or(|w| value.eq_ignore_ascii_case(w)).then_some(value)
}
