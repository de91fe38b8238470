#include "schema/mutants.hpp"

namespace pravaha::mutants {

// The one mutable global outside the world: which planted bug storage/ and actors/ run with.
// Set by world before a run and reset after it.
mutant current = mutant::none;

}  // namespace pravaha::mutants
