#include "schema/mutants.hpp"

namespace pravaha::mutants {

// The one mutable global outside the world: which planted bug storage/, actors/ and client/ run
// with. Set by the simulator's worlds before a run and reset after it; nothing else assigns it.
mutant current = mutant::none;

}  // namespace pravaha::mutants
