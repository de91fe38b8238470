#pragma once
// The fuzz targets' `-make_seeds=DIR` flag (scripts/fuzz-ci.sh): their LLVMFuzzerInitialize
// calls this first.

#include <cstdlib>
#include <cstring>
#include <string>

namespace pravaha::test {

/// With `-make_seeds=DIR` among the arguments, calls make(DIR) and exits; else returns.
template <typename Make>
void make_seeds_if_asked(int argc, char** argv, Make make) {
    constexpr const char* flag = "-make_seeds=";
    for (int i = 1; i < argc; ++i) {
        if (std::strncmp(argv[i], flag, std::strlen(flag)) == 0) {
            make(std::string(argv[i] + std::strlen(flag)));
            std::exit(0);
        }
    }
}

}  // namespace pravaha::test
