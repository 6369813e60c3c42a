// Running mean and llama-perplexity's standard error of the mean, shared by perplexity() and the
// sensitivity probes so both report KLD and NLL with the same arithmetic.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace apreqel {

struct Accumulator {
  double sum = 0, sum2 = 0;
  size_t count = 0;
  void add(double v) { sum += v; sum2 += v * v; ++count; }
  void merge(const Accumulator& o) { sum += o.sum; sum2 += o.sum2; count += o.count; }
  double mean() const { return count ? sum / count : NAN; }
  // llama-perplexity's standard error of the mean
  double stderrOfMean() const {
    if (count < 2) return NAN;
    double m = mean();
    double var = sum2 / count - m * m;
    return var > 0 ? std::sqrt(var / (count - 1)) : 0;
  }
};

// The sequential stopping rule of a sensitivity probe (issue 25). A probe accumulates, chunk by
// chunk, its Δ per token (its KLD minus the reference's on the same token: paired, so the noise the
// two share cancels) and stops after a chunk once it has at least minTokens and either reached
// maxTokens or knows its mean Δ well enough: standard error ≤ relativeStderr · |mean|, or ≤
// absoluteStderr (a Δ too small to matter need not be known to 10% of itself). Both 0 never stop
// early. A Δ that is exactly 0 everywhere (the reference's own bytes) stops at the floor (0 ≤ 0).
struct StopRule {
  double relativeStderr = 0;
  double absoluteStderr = 0;
  size_t minTokens = 0;
  size_t maxTokens = SIZE_MAX;
  bool done(const Accumulator& delta) const {
    if (delta.count >= maxTokens) return true;
    if (delta.count < minTokens || (relativeStderr <= 0 && absoluteStderr <= 0) || delta.count < 2) return false;
    const double se = delta.stderrOfMean();
    return (relativeStderr > 0 && se <= relativeStderr * std::fabs(delta.mean())) || se <= absoluteStderr;
  }
};

}  // namespace apreqel
