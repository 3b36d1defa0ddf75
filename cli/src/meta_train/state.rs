//! The saved state of a run (`summary.json`): enough to resume it exactly.

use std::error::Error;
use std::path::Path;

use metaplasticity::meta::{Adam, AdamError, Record, State, Trainer, Undo};
use metaplasticity::{Real, Shape};
use serde::{Deserialize, Serialize};

use crate::meta_train::options::Args;

/// Adam's state.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct AdamState {
    /// Step count.
    pub adam_t: u64,
    /// First moments.
    pub adam_m: Vec<f64>,
    /// Second moments.
    pub adam_v: Vec<f64>,
    /// Learning rate.
    pub lr: f64,
}

impl AdamState {
    fn of(adam: &Adam) -> Self {
        AdamState { adam_t: adam.t(), adam_m: adam.m().to_vec(), adam_v: adam.v().to_vec(), lr: adam.lr() }
    }

    fn adam(&self) -> Result<Adam, AdamError> {
        Adam::new(self.adam_m.len(), self.lr)?.restore(self.adam_t, self.adam_m.clone(), self.adam_v.clone())
    }
}

/// The step the back-off would undo.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct UndoState {
    /// Theta before the step.
    pub theta: Vec<f64>,
    /// Adam before the step.
    #[serde(flatten)]
    pub adam: AdamState,
    /// The step's gradient.
    pub gradient: Vec<f64>,
}

/// One trainer's coefficients and optimiser state.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct TrainerState {
    /// Theta after the last episode.
    pub theta: Vec<f64>,
    /// Adam's state.
    #[serde(flatten)]
    pub adam: AdamState,
    /// The last accepted steps, oldest first, for the back-off (a single
    /// step or `null` in files written before `--backoff-depth` existed).
    #[serde(default, deserialize_with = "undo_history")]
    pub undo: Vec<UndoState>,
}

impl TrainerState {
    pub fn of<T: Real, S: Shape>(t: &Trainer<'_, T, S>) -> Self {
        let s = t.state();
        TrainerState {
            theta: s.theta.clone(),
            adam: AdamState::of(&s.adam),
            undo: s
                .undo
                .iter()
                .map(|u| UndoState {
                    theta: u.theta.clone(),
                    adam: AdamState::of(&u.adam),
                    gradient: u.gradient.clone(),
                })
                .collect(),
        }
    }

    /// The trainer's state at episode `episode`.
    pub fn state(&self, episode: usize) -> Result<State, AdamError> {
        let undo = self
            .undo
            .iter()
            .map(|u| Ok(Undo { theta: u.theta.clone(), adam: u.adam.adam()?, gradient: u.gradient.clone() }))
            .collect::<Result<_, AdamError>>()?;
        Ok(State { episode, theta: self.theta.clone(), adam: self.adam.adam()?, undo })
    }
}

/// Reads the back-off's history: a list, or (files written before
/// `--backoff-depth`) one step or `null`.
fn undo_history<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<UndoState>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Saved {
        Many(Vec<UndoState>),
        One(Option<UndoState>),
    }
    Ok(match Saved::deserialize(d)? {
        Saved::Many(all) => all,
        Saved::One(one) => one.into_iter().collect(),
    })
}

/// `summary.json`.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct RunState {
    /// The options of the run.
    pub args: Args,
    /// Names of the rule's terms.
    pub terms: Vec<String>,
    /// The next episode to run.
    pub next_episode: usize,
    /// The rule's trainer.
    pub rule: TrainerState,
    /// The baseline's trainer (F^0, feedback alignment), if run.
    pub baseline: Option<TrainerState>,
    /// The last (up to) 50 records of the rule.
    #[serde(with = "records")]
    pub recent: Vec<Record>,
    /// The last (up to) 50 records of the baseline.
    #[serde(with = "records")]
    pub baseline_recent: Vec<Record>,
    /// Mean meta-accuracy of the last 50 episodes that did not diverge
    /// (`null` if all of them diverged).
    pub mean_accuracy_last_50: Option<f64>,
    /// The same for the baseline.
    pub baseline_mean_accuracy_last_50: Option<f64>,
}

impl RunState {
    pub fn load(path: &Path) -> Result<Self, Box<dyn Error>> {
        let text =
            std::fs::read_to_string(path).map_err(|e| format!("--resume: cannot read {}: {e}", path.display()))?;
        Ok(serde_json::from_str(&text)
            .map_err(|e| format!("--resume: {} is not a run summary: {e}", path.display()))?)
    }

    /// The options that change results must match the saved run's: the
    /// network and the rule as they resolve on `data` (an explicit
    /// `--widths` equal to the default, `--rule 0,2,9` for `bio`), the
    /// others as given.
    pub fn check_compatible(
        &self,
        args: &Args,
        terms: &[&str],
        data: &metaplasticity::idx::Dataset<'_>,
    ) -> Result<(), Box<dyn Error>> {
        let (a, b) = (&self.args, args);
        let rule = |a: &Args| {
            metaplasticity::Rule::<f32>::named(&a.rule)
                .ok()
                .map(|(r, kind)| (r.entries().iter().map(|e| e.term.name()).collect::<Vec<_>>(), kind))
        };
        // Every option that changes results, by its flag, saved against given.
        let differs = [
            ("--data", a.data != b.data),
            ("--images", a.images != b.images),
            ("--labels", a.labels != b.labels),
            ("--transposed", a.transposed != b.transposed),
            ("--widths", a.shape(data).ok() != b.shape(data).ok()),
            ("--rule", rule(a) != rule(b)),
            ("--feedback", a.feedback != b.feedback),
            ("--theta", a.theta != b.theta),
            ("--classes", a.classes != b.classes),
            ("--train", a.train != b.train),
            ("--query", a.query != b.query),
            ("--sampling", a.sampling != b.sampling),
            ("--penalty", a.penalty != b.penalty),
            ("--lambda", a.lambda != b.lambda),
            ("--lr", a.lr != b.lr),
            ("--seed", a.seed != b.seed),
            ("--feedback-init", a.feedback_init != b.feedback_init),
            ("--freeze", a.freeze != b.freeze),
            ("--on-divergence", a.on_divergence != b.on_divergence),
            ("--robust", a.robust != b.robust),
            ("--step-scale", a.step_scale != b.step_scale),
            ("--l1", a.l1 != b.l1),
            ("--optimizer", a.optimizer != b.optimizer),
            ("--backoff-shrink", a.backoff_shrink != b.backoff_shrink),
            ("--backoff-tries", a.backoff_tries != b.backoff_tries),
            ("--backoff-depth", a.backoff_depth != b.backoff_depth),
            ("--reversal", a.reversal != b.reversal),
            ("--no-baseline", a.no_baseline != b.no_baseline),
        ];
        let names: Vec<&str> = differs.iter().filter(|(_, d)| *d).map(|(name, _)| *name).collect();
        if !names.is_empty() {
            return Err(format!(
                "--resume: {} {} from the saved run's (see args in summary.json); resume with the same options",
                names.join(", "),
                if names.len() == 1 { "differs" } else { "differ" }
            )
            .into());
        }
        if !self.terms.iter().map(String::as_str).eq(terms.iter().copied()) {
            return Err(format!("--resume: the saved run's terms {:?} are not the rule's {terms:?}", self.terms).into());
        }
        if self.next_episode > args.episodes {
            return Err(format!(
                "--resume: the saved run is at episode {}, past --episodes {}",
                self.next_episode, args.episodes
            )
            .into());
        }
        Ok(())
    }
}

/// The header and the first `episodes` rows of a CSV written by this program.
pub fn csv_prefix(path: &Path, episodes: usize) -> Result<String, Box<dyn Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("--resume: cannot read {}: {e}", path.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() < episodes + 1 {
        return Err(format!(
            "--resume: {} has {} episodes, the summary says {episodes}",
            path.display(),
            lines.len().saturating_sub(1)
        )
        .into());
    }
    Ok(lines[..=episodes].iter().map(|l| format!("{l}\n")).collect())
}

/// Records as plain JSON objects.
mod records {
    use metaplasticity::meta::Record;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    #[derive(Serialize, Deserialize)]
    struct R {
        episode: usize,
        ok: bool,
        meta_loss: Option<f64>,
        query_loss: Option<f64>,
        accuracy: Option<f64>,
        train_loss: Option<f64>,
        #[serde(default)]
        retries: usize,
        theta: Vec<f64>,
        gradient: Vec<f64>,
        angles: Vec<Option<f64>>,
    }

    fn finite(v: f64) -> Option<f64> {
        v.is_finite().then_some(v)
    }

    pub fn serialize<S: Serializer>(v: &[Record], s: S) -> Result<S::Ok, S::Error> {
        let rs: Vec<R> = v
            .iter()
            .map(|r| R {
                episode: r.episode,
                ok: r.ok,
                meta_loss: finite(r.meta_loss),
                query_loss: finite(r.query_loss),
                accuracy: finite(r.accuracy),
                train_loss: finite(r.train_loss),
                retries: r.retries,
                theta: r.theta.clone(),
                gradient: r.gradient.clone(),
                angles: r.angles.iter().map(|&a| finite(a)).collect(),
            })
            .collect();
        rs.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Record>, D::Error> {
        let rs = Vec::<R>::deserialize(d)?;
        Ok(rs
            .into_iter()
            .map(|r| Record {
                episode: r.episode,
                ok: r.ok,
                meta_loss: r.meta_loss.unwrap_or(f64::NAN),
                query_loss: r.query_loss.unwrap_or(f64::NAN),
                accuracy: r.accuracy.unwrap_or(f64::NAN),
                train_loss: r.train_loss.unwrap_or(f64::NAN),
                retries: r.retries,
                theta: r.theta,
                gradient: r.gradient,
                angles: r.angles.into_iter().map(|a| a.unwrap_or(f64::NAN)).collect(),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADAM: &str = r#""adam_t": 1, "adam_m": [0.5], "adam_v": [0.25], "lr": 0.001"#;

    fn read(undo: &str) -> Vec<f64> {
        let text = format!(r#"{{"theta": [1.0], {ADAM}{undo}}}"#);
        let state: TrainerState = serde_json::from_str(&text).unwrap();
        state.undo.iter().map(|u| u.theta[0]).collect()
    }

    #[test]
    fn the_back_off_history_reads_lists_and_the_single_step_of_older_files() {
        let step = |theta: f64| format!(r#"{{"theta": [{theta}], {ADAM}, "gradient": [2.0]}}"#);
        assert_eq!(read(""), Vec::<f64>::new());
        assert_eq!(read(r#", "undo": null"#), Vec::<f64>::new());
        assert_eq!(read(&format!(r#", "undo": {}"#, step(3.0))), vec![3.0]);
        assert_eq!(read(&format!(r#", "undo": [{}, {}]"#, step(3.0), step(4.0))), vec![3.0, 4.0]);
    }
}
