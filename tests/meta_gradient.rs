//! The exact meta-gradient (hand-written adjoint through every online step)
//! against central finite differences of the meta-loss, in `f64`: each term
//! alone, each pathway, each penalty, whole short episodes, and plastic
//! (Kolen-Pollack) feedback, whose parameters `eta_B`, `lambda_B` follow the
//! rule's coefficients in `Theta`; brSF's magnitudes, redrawn at every
//! step, are revisited step by step in the reverse pass.

#![cfg(feature = "alloc")]

use metaplasticity::idx::{Dataset, Images, Labels};
use metaplasticity::meta::{MetaGradient, Penalty, Task};
use metaplasticity::term::PlasticityTerm;
use metaplasticity::{
    AnyPathway, Backprop, DirectFeedbackAlignment, FeedbackAlignment, FeedbackPathway, Init, KolenPollack, LayerSet,
    Network, PathwayKind, RandomSignSymmetric, RedrawnSignSymmetric, Rule, SignSymmetric, shape, terms,
};
use rand_xoshiro::Xoshiro256PlusPlus;
use rand_xoshiro::rand_core::{Rng, SeedableRng};

type Small = shape![6, 5, 4, 3];

/// 3 classes x 12 images of 2x3 random pixels.
fn pixels(seed: u64) -> (Vec<u8>, Vec<u8>) {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let labels: Vec<u8> = (0..36).map(|i| (i % 3) as u8).collect();
    let images = (0..36 * 6).map(|_| (rng.next_u32() >> 24) as u8).collect();
    (images, labels)
}

fn task() -> Task {
    // 20 online steps, classes interleaved; 6 query images.
    Task { train: (0..20).map(|i| (i * 7) % 30).collect(), query: (30..36).collect() }
}

#[derive(Clone, Copy, Debug)]
enum Path {
    Bp,
    Fa,
    Dfa,
    Usf,
    Frsf,
    /// Magnitudes redrawn at every step: the reverse pass must revisit
    /// each step's own draw.
    Brsf,
    /// Kolen-Pollack: `theta` ends with `eta_B` and `lambda_B`.
    Kp,
}

/// The meta-loss and its gradient for coefficients `theta`.
fn episode(
    data: &Dataset<'_>,
    path: Path,
    terms: &[(&'static dyn PlasticityTerm<f64>, LayerSet)],
    theta: &[f64],
    penalty: Penalty,
    interval: usize,
) -> (f64, Vec<f64>) {
    let mut rule = Rule::<f64, 10>::new();
    for (&(t, layers), &th) in terms.iter().zip(theta) {
        rule.push(t, th, layers).unwrap();
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
    let mut net = Network::<f64, Small, _>::zeros();
    net.init(&mut rng, Init::XavierUniform);
    let mut fa = FeedbackAlignment::<f64, Small, _>::random(&mut rng, Init::XavierUniform);
    let mut dfa = DirectFeedbackAlignment::<f64, Small, _>::random(&mut rng, Init::XavierUniform);
    let mut frsf = RandomSignSymmetric::<f64, Small, _>::random(&mut rng, Init::XavierUniform);
    let (mut bp, mut usf) = (Backprop, SignSymmetric);
    let params = theta.get(terms.len()..).unwrap_or(&[]);
    let (eta, lambda) = (params.first().copied().unwrap_or(0.0), params.get(1).copied().unwrap_or(0.0));
    let mut kp = KolenPollack::<f64, Small, _>::random(&mut rng, Init::XavierUniform, eta, lambda).unwrap();
    let mut brsf = RedrawnSignSymmetric::<f64>::new(rng.next_u64(), Init::XavierUniform);
    let mut mg = MetaGradient::<f64, Small>::new(interval);
    let mut grad = vec![0.0; theta.len()];
    let pathway: &mut dyn FeedbackPathway<f64, Small> = match path {
        Path::Bp => &mut bp,
        Path::Fa => &mut fa,
        Path::Dfa => &mut dfa,
        Path::Usf => &mut usf,
        Path::Frsf => &mut frsf,
        Path::Brsf => &mut brsf,
        Path::Kp => &mut kp,
    };
    let r = mg.run(&mut net, pathway, &rule, data, &task(), penalty, &mut grad).expect("episode runs").meta_loss;
    (r, grad)
}

/// Like [`pixels`], with half the pixels zero: columns of layer 1 where
/// the terms that vanish without input are skipped by the adjoint.
fn sparse_pixels(seed: u64) -> (Vec<u8>, Vec<u8>) {
    let (mut images, labels) = pixels(seed);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed + 1);
    for p in images.iter_mut().filter(|_| rng.next_u32() & 1 == 0) {
        *p = 0;
    }
    (images, labels)
}

/// Like [`sparse_pixels`], with blank pixels: pixel 4 zero in every image,
/// pixel 5 in every image but the one of step 10 (image 10), and pixel 1
/// in every training image but non-zero in a query image (33). Only pixel
/// 4 is blank (the meta-gradient leaves its column of `W_1` out of the
/// reverse pass where the rule and the pathway allow).
fn blank_pixels(seed: u64) -> (Vec<u8>, Vec<u8>) {
    let (mut images, labels) = sparse_pixels(seed);
    for (i, image) in images.chunks_exact_mut(6).enumerate() {
        image[4] = 0;
        image[5] = if i == 10 { 200 } else { 0 };
        image[1] = if i == 33 { 90 } else { 0 };
    }
    (images, labels)
}

/// Largest relative error between the adjoint gradient and central
/// differences, relative to the gradient's largest entry.
fn check(path: Path, terms: &[(&'static dyn PlasticityTerm<f64>, LayerSet)], theta: &[f64], penalty: Penalty) -> f64 {
    check_on(pixels(3), path, terms, theta, penalty)
}

/// [`check`] on the images `(img, lab)`.
fn check_on(
    (img, lab): (Vec<u8>, Vec<u8>),
    path: Path,
    terms: &[(&'static dyn PlasticityTerm<f64>, LayerSet)],
    theta: &[f64],
    penalty: Penalty,
) -> f64 {
    let data = Dataset::new(Images::from_raw(&img, 36, 2, 3).unwrap(), Labels::new(&lab), 3).unwrap();
    let (_, grad) = episode(&data, path, terms, theta, penalty, 4);
    let scale = grad.iter().fold(0.0f64, |m, g| m.max(g.abs()));
    assert!(scale > 1e-8, "gradient vanishes: {grad:?}");
    let mut worst = 0.0f64;
    for r in 0..theta.len() {
        // Central differences with one Richardson extrapolation step:
        // truncation error O(h^4), round-off about 1e-16 / h.
        let central = |h: f64| {
            let mut plus = theta.to_vec();
            plus[r] += h;
            let mut minus = theta.to_vec();
            minus[r] -= h;
            (episode(&data, path, terms, &plus, penalty, 4).0 - episode(&data, path, terms, &minus, penalty, 4).0)
                / (2.0 * h)
        };
        // Sign-symmetric feedback reads sign(W): the meta-loss jumps where a
        // weight crosses zero, and a stencil that straddles such a point
        // measures the jump, not the slope. Seen with frSF, F^0 + F^9: at
        // +-3e-4 the difference quotient is 1.91, at +-3e-5 and below it
        // is -0.0351119, the adjoint's value to 1e-9. The smaller stencil
        // makes a straddle ten times less likely; the tolerance is the same.
        let rel = if matches!(path, Path::Usf | Path::Frsf | Path::Brsf) { 1e-4 } else { 1e-3 };
        let h = rel * theta[r].abs().max(0.05);
        let fd = (4.0 * central(h / 2.0) - central(h)) / 3.0;
        let err = (fd - grad[r]).abs() / scale;
        worst = worst.max(err);
        assert!(
            err < 1e-6,
            "{path:?} coefficient {r} ({}): adjoint {} vs finite difference {fd} (rel. err {err:e})",
            terms.get(r).map_or("a parameter of the pathway", |t| t.0.name()),
            grad[r]
        );
    }
    worst
}

fn all(term: &'static dyn PlasticityTerm<f64>) -> (&'static dyn PlasticityTerm<f64>, LayerSet) {
    (term, LayerSet::ALL)
}

/// Zero pixels: the update adjoint skips, on layer 1, what the terms that
/// vanish without input would compute there (everything when all vanish,
/// as `F^0` does; their partials when `F^3` or `F^9` does not), and the
/// reverse pass leaves out the columns of blank pixels (zero in every image
/// of the episode) altogether.
#[test]
fn zero_pixels_skip_only_what_vanishes() {
    let pool = terms::pool::<f64>();
    let (img, _) = sparse_pixels(3);
    let zeros = img.iter().filter(|&&p| p == 0).count();
    assert!(zeros > img.len() / 3, "{zeros} zero pixels of {}", img.len());
    let rules: [(&[usize], &[f64]); 4] = [
        (&[0], &[0.3]),
        (&[0, 3], &[0.3, 0.05]),
        (&[0, 2, 9], &[0.3, -0.05, 0.05]),
        (&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9], &[0.3, -0.02, 0.04, 0.01, -0.01, 0.02, 0.01, -0.01, 0.01, 0.05]),
    ];
    for path in [Path::Bp, Path::Fa, Path::Dfa] {
        for (rs, theta) in rules {
            let terms: Vec<_> = rs.iter().map(|&r| all(pool[r])).collect();
            check_on(sparse_pixels(3), path, &terms, theta, Penalty::None);
            check_on(blank_pixels(3), path, &terms, theta, Penalty::None);
        }
    }
}

#[test]
fn each_term_alone_with_the_pseudo_gradient() {
    let pool = terms::pool::<f64>();
    for (r, &term) in pool.iter().enumerate().skip(1) {
        for path in [Path::Fa, Path::Bp, Path::Dfa] {
            let err = check(path, &[all(pool[0]), all(term)], &[0.3, 0.05], Penalty::None);
            eprintln!("F{r} with {path:?}: max rel. err {err:.2e}");
        }
    }
}

#[test]
fn pseudo_gradient_alone_each_pathway() {
    for path in [Path::Fa, Path::Bp, Path::Dfa] {
        check(path, &[all(&terms::PseudoGradient)], &[0.5], Penalty::None);
    }
}

#[test]
fn whole_pool_each_pathway_and_penalty() {
    let pool = terms::pool::<f64>();
    let terms: Vec<_> = pool.iter().map(|&t| all(t)).collect();
    let theta = [0.3, -0.02, 0.04, 0.01, -0.01, 0.02, -0.03, 0.02, 0.01, 0.05];
    for path in [Path::Fa, Path::Bp, Path::Dfa] {
        for penalty in [Penalty::None, Penalty::L1(0.01), Penalty::L2(0.02)] {
            check(path, &terms, &theta, penalty);
        }
    }
}

/// Sign-symmetric feedback reads `sign(W)`, whose derivative is zero where
/// no sign flips: the adjoint (no term through the feedback) matches finite
/// differences, for each pool term and for the whole pool.
#[test]
fn sign_symmetric_pathways() {
    let pool = terms::pool::<f64>();
    for path in [Path::Usf, Path::Frsf, Path::Brsf] {
        for &term in pool.iter().skip(1) {
            check(path, &[all(pool[0]), all(term)], &[0.3, 0.05], Penalty::None);
        }
        let terms: Vec<_> = pool.iter().map(|&t| all(t)).collect();
        let theta = [0.3, -0.02, 0.04, 0.01, -0.01, 0.02, -0.03, 0.02, 0.01, 0.05];
        check(path, &terms, &theta, Penalty::L1(0.01));
    }
}

/// Kolen-Pollack feedback learns during the episode: the gradient runs
/// through the feedback's trajectory, to `Theta` and to the pathway's own
/// `eta_B` and `lambda_B` (the last two coefficients), with a checkpoint
/// interval that splits the episode into segments.
#[test]
fn kolen_pollack_through_the_feedback_trajectory() {
    let pool = terms::pool::<f64>();
    check(Path::Kp, &[all(pool[0])], &[0.3, 0.2, 0.05], Penalty::None);
    check(Path::Kp, &[all(pool[0]), all(pool[2]), all(pool[9])], &[0.3, -0.02, 0.05, 0.25, 0.02], Penalty::L1(0.01));
    // The whole pool: terms that need e_0 send it through B_0 too.
    let terms: Vec<_> = pool.iter().map(|&t| all(t)).collect();
    let theta = [0.3, -0.02, 0.04, 0.01, -0.01, 0.02, -0.03, 0.02, 0.01, 0.05, 0.2, 0.03];
    check(Path::Kp, &terms, &theta, Penalty::L2(0.02));
}

#[test]
fn per_layer_rule() {
    // Table 1 of the paper: F^2 on one layer only.
    for layer in 1..=3 {
        let terms =
            [all(&terms::PseudoGradient), (&terms::ErrorHebb as &dyn PlasticityTerm<f64>, LayerSet::only(layer))];
        check(Path::Fa, &terms, &[0.3, 0.1], Penalty::None);
    }
}

#[test]
fn checkpoint_interval_does_not_change_the_gradient() {
    let (img, lab) = pixels(5);
    let data = Dataset::new(Images::from_raw(&img, 36, 2, 3).unwrap(), Labels::new(&lab), 3).unwrap();
    let pool = terms::pool::<f64>();
    let terms: Vec<_> = pool.iter().map(|&t| all(t)).collect();
    let theta = [0.3, -0.02, 0.04, 0.01, -0.01, 0.02, -0.03, 0.02, 0.01, 0.05];
    // brSF's state (its step counter) is checkpointed and revisited too.
    for path in [Path::Fa, Path::Brsf] {
        let (l1, g1) = episode(&data, path, &terms, &theta, Penalty::None, 1);
        for c in [2, 3, 7, 20, 64] {
            let (lc, gc) = episode(&data, path, &terms, &theta, Penalty::None, c);
            assert_eq!(l1.to_bits(), lc.to_bits(), "{path:?}: meta-loss with interval {c}");
            for (a, b) in g1.iter().zip(&gc) {
                assert_eq!(a.to_bits(), b.to_bits(), "{path:?}: gradient with interval {c}: {a} vs {b}");
            }
        }
    }
}

/// A user-defined term (plain Hebbian plasticity `y_l y_{l-1}^T`, with its
/// own vector-Jacobian product) gets an exact meta-gradient too.
struct Hebb;

impl metaplasticity::PlasticityTerm<f64> for Hebb {
    fn name(&self) -> &'static str {
        "hebb"
    }
    fn mixes(&self) -> metaplasticity::term::Mixes {
        metaplasticity::term::Mixes::POST
    }
    fn mix(
        &self,
        k: f64,
        s: &metaplasticity::term::Signals<'_, f64>,
        c: &metaplasticity::term::Column<'_, f64>,
        m: &mut metaplasticity::term::Mix<f64>,
    ) {
        m.post += k * s.pre[c.j];
    }
    fn mix_adjoint(
        &self,
        k: f64,
        s: &metaplasticity::term::Signals<'_, f64>,
        c: &metaplasticity::term::Column<'_, f64>,
        g: &metaplasticity::term::Mix<f64>,
        bar: &mut metaplasticity::term::ColumnBar<f64>,
    ) {
        bar.k += s.pre[c.j] * g.post;
        bar.pre += k * g.post;
    }
}

#[test]
fn user_defined_term() {
    for path in [Path::Fa, Path::Bp] {
        check(path, &[all(&terms::PseudoGradient), all(&Hebb)], &[0.3, -0.05], Penalty::None);
    }
}

/// Hebb's increment scaled by `sum_j (W_l^T yhat_l)_j`: a term of your own
/// that reads every column of its layer, blank pixels' included.
struct SumScaledHebb;

impl metaplasticity::PlasticityTerm<f64> for SumScaledHebb {
    fn name(&self) -> &'static str {
        "sum-scaled hebb"
    }
    fn mixes(&self) -> metaplasticity::term::Mixes {
        metaplasticity::term::Mixes::POST
    }
    fn needs(&self) -> metaplasticity::term::Needs {
        metaplasticity::term::Needs { wt_post_vector: true, ..metaplasticity::term::Needs::NOTHING }
    }
    fn scale(&self, s: &metaplasticity::term::Signals<'_, f64>) -> f64 {
        s.wt_post.iter().sum()
    }
    fn mix(
        &self,
        k: f64,
        s: &metaplasticity::term::Signals<'_, f64>,
        c: &metaplasticity::term::Column<'_, f64>,
        m: &mut metaplasticity::term::Mix<f64>,
    ) {
        Hebb.mix(k, s, c, m);
    }
    fn mix_adjoint(
        &self,
        k: f64,
        s: &metaplasticity::term::Signals<'_, f64>,
        c: &metaplasticity::term::Column<'_, f64>,
        g: &metaplasticity::term::Mix<f64>,
        bar: &mut metaplasticity::term::ColumnBar<f64>,
    ) {
        Hebb.mix_adjoint(k, s, c, g, bar);
    }
    fn scale_adjoint(
        &self,
        sbar: f64,
        _: &metaplasticity::term::Signals<'_, f64>,
        bar: &mut metaplasticity::term::SignalsBar<'_, f64>,
    ) {
        for t in bar.wt_post.iter_mut() {
            *t += sbar;
        }
    }
}

/// A term of your own on layer 1 may read the columns of blank pixels
/// (here through its scale): the reverse pass then keeps them, and the
/// gradient matches finite differences on images with a blank pixel.
#[test]
fn user_term_reading_every_column_keeps_blank_columns() {
    let terms = [all(&terms::PseudoGradient), all(&terms::Oja), all(&SumScaledHebb)];
    for path in [Path::Fa, Path::Bp] {
        check_on(blank_pixels(3), path, &terms, &[0.3, 0.05, -0.02], Penalty::None);
    }
}

/// A pathway that says it reads the forward weights (the trait's default)
/// and otherwise is `P`: the meta-gradient then recomputes every layer.
struct SaysItReads<P>(P);

impl<S: metaplasticity::Shape, P: FeedbackPathway<f64, S>> FeedbackPathway<f64, S> for SaysItReads<P> {
    fn feedback(&self, s: &S, l: usize, w: &[f64], en: &[f64], eo: &[f64], gate: &[f64], f: &mut [f64]) {
        self.0.feedback(s, l, w, en, eo, gate, f);
    }
    fn feedback_adjoint(&self, s: &S, l: usize, w: &[f64], e: &[f64], sb: &[f64], eb: &mut [f64], wb: &mut [f64]) {
        self.0.feedback_adjoint(s, l, w, e, sb, eb, wb);
    }
    fn check_shape(&self, shape: &S) -> Result<(), metaplasticity::Error> {
        self.0.check_shape(shape)
    }
    fn reinit(&mut self, rng: &mut dyn Rng, init: Init) {
        self.0.reinit(rng, init);
    }
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn state(&self) -> &[f64] {
        self.0.state()
    }
    fn set_state(&mut self, state: &[f64]) -> Result<(), metaplasticity::Error> {
        self.0.set_state(state)
    }
    fn learn(&mut self, shape: &S, y: &[f64], e: &[f64]) -> Result<(), metaplasticity::Error> {
        self.0.learn(shape, y, e)
    }
    #[allow(clippy::too_many_arguments)]
    fn learn_adjoint(
        &self,
        shape: &S,
        y: &[f64],
        e: &[f64],
        state_bar: &mut [f64],
        ybar: &mut [f64],
        ebar: &mut [f64],
        params_bar: &mut [f64],
    ) {
        self.0.learn_adjoint(shape, y, e, state_bar, ybar, ebar, params_bar);
    }
    fn feedback_state_adjoint(&self, shape: &S, l: usize, e: &[f64], s: &[f64], state_bar: &mut [f64]) {
        self.0.feedback_state_adjoint(shape, l, e, s, state_bar);
    }
    fn params(&self) -> &[f64] {
        self.0.params()
    }
    fn param_names(&self) -> &'static [&'static str] {
        self.0.param_names()
    }
    fn set_params(&mut self, params: &[f64]) -> Result<(), metaplasticity::Error> {
        self.0.set_params(params)
    }
}

/// Where neither the rule's terms on layer 1 nor the pathway read `W_1`
/// (`F^0` through any pathway: backprop and the sign-symmetric ones read
/// `W_1` only for `e_0`, which `F^0` does not need; `F^2` through FA, DFA
/// or Kolen-Pollack), the meta-gradient leaves the first layer's weights
/// out of its checkpoints, recomputation and walk back: the same bits as
/// recomputing them (a pathway that says it reads every layer), for both
/// reversals and several checkpoint intervals. Where something reads `W_1`
/// (Oja's term, decay, `F^6`, `F^7`; backprop and the sign-symmetric
/// pathways when a term needs `e_0`) it must be kept: were layer 1 left
/// out there, the reverse pass would read stale weights and these
/// gradients would differ. Where it is kept, only the columns of pixels
/// that are not blank are recomputed, walked back and swept (where only
/// the pool's terms act on layer 1 and no signal above `e_0` reads `W_1`):
/// the same bits again, against a pathway that says it reads every layer
/// (which keeps them all).
#[test]
fn layer_one_left_out_where_nothing_reads_it_gives_the_same_bits() {
    use metaplasticity::meta::Reversal;
    let (img, lab) = blank_pixels(9);
    let data = Dataset::new(Images::from_raw(&img, 36, 2, 3).unwrap(), Labels::new(&lab), 3).unwrap();
    let pool = terms::pool::<f64>();
    let kinds = [
        PathwayKind::Backprop,
        PathwayKind::Alignment,
        PathwayKind::Direct,
        PathwayKind::SignSymmetric,
        PathwayKind::RandomSignSymmetric,
        PathwayKind::RedrawnSignSymmetric,
        PathwayKind::KolenPollack,
    ];
    // What each pathway says it reads for f_l.
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    for kind in kinds {
        let p = AnyPathway::<f64, Small>::new_for(Small::default(), kind, &mut rng, Init::XavierUniform);
        let own = matches!(kind, PathwayKind::Alignment | PathwayKind::Direct | PathwayKind::KolenPollack);
        for l in 0..3 {
            let want = if own { LayerSet::NONE } else { LayerSet::only(l + 1) };
            assert_eq!(p.feedback_reads(l), want, "{kind:?} f_{l}");
        }
    }
    let rules: [&[usize]; 9] = [
        &[0],
        &[0, 2],
        &[0, 1, 4, 5, 8],
        &[0, 2, 9],
        &[0, 3],
        &[0, 6],
        &[0, 7],
        &[0, 3, 9],
        &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
    ];
    for picks in rules {
        let mut rule = Rule::<f64, 10>::new();
        for (k, &r) in picks.iter().enumerate() {
            let theta = [0.3, 0.02, -0.03, 0.01, 0.02, -0.01, 0.01, -0.02, 0.01, 0.03][k];
            rule.push(pool[r], theta, LayerSet::ALL).unwrap();
        }
        for kind in kinds {
            for reversal in [Reversal::Recompute, Reversal::Invert] {
                for interval in [1, 4, 7] {
                    let run = |says_it_reads: bool| {
                        let mut rng = Xoshiro256PlusPlus::seed_from_u64(11);
                        let mut net = Network::<f64, Small, _>::zeros();
                        net.init(&mut rng, Init::XavierUniform);
                        let p =
                            AnyPathway::<f64, Small>::new_for(Small::default(), kind, &mut rng, Init::XavierUniform);
                        let mut grad = vec![0.0; rule.len() + p.params().len()];
                        let mut mg = MetaGradient::<f64, Small>::new(interval).with_reversal(reversal);
                        let (task, penalty) = (task(), Penalty::None);
                        let r = if says_it_reads {
                            mg.run(&mut net, &mut SaysItReads(p), &rule, &data, &task, penalty, &mut grad)
                        } else {
                            mg.run(&mut net, &mut { p }, &rule, &data, &task, penalty, &mut grad)
                        };
                        let mut bits: Vec<u64> = grad.iter().map(|g| g.to_bits()).collect();
                        bits.push(r.unwrap().meta_loss.to_bits());
                        bits.extend(net.as_slice().iter().map(|w| w.to_bits()));
                        bits
                    };
                    assert_eq!(run(false), run(true), "{picks:?} {kind:?} {reversal:?} interval {interval}");
                }
            }
        }
    }
    // One layer (nothing left to recompute) and two, through FA.
    fn bits_of<S: metaplasticity::FixedShape>(data: &Dataset<'_>, says_it_reads: bool) -> Vec<u64> {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut net = Network::<f64, S, _>::zeros();
        net.init(&mut rng, Init::XavierUniform);
        let p = FeedbackAlignment::<f64, S, _>::random(&mut rng, Init::XavierUniform);
        let mut rule = Rule::<f64, 1>::fa();
        rule.set_thetas(&[0.3]).unwrap();
        let (mut grad, mut mg) = (vec![0.0], MetaGradient::<f64, S>::new(4));
        let r = if says_it_reads {
            mg.run(&mut net, &mut SaysItReads(p), &rule, data, &task(), Penalty::None, &mut grad)
        } else {
            mg.run(&mut net, &mut { p }, &rule, data, &task(), Penalty::None, &mut grad)
        };
        let mut bits = vec![grad[0].to_bits(), r.unwrap().meta_loss.to_bits()];
        bits.extend(net.as_slice().iter().map(|w| w.to_bits()));
        bits
    }
    assert_eq!(bits_of::<shape![6, 3]>(&data, false), bits_of::<shape![6, 3]>(&data, true));
    assert_eq!(bits_of::<shape![6, 4, 3]>(&data, false), bits_of::<shape![6, 4, 3]>(&data, true));
}
