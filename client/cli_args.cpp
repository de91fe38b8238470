// pravaha's command line on CLI11: the tree of commands with their arguments and help, the parse
// into `args`, and the bash completion made from the same tree (so the two cannot drift).

#include "client/cli.hpp"
#include "client/cli11_parse.hpp"
#include "schema/text.hpp"

#include <CLI/App.hpp>
#include <CLI/Config.hpp>  // the ConfigBase every App holds (header-only definitions)
#include <CLI/Formatter.hpp>
#include <fmt/format.h>

#include <cstdio>
#include <set>
#include <sstream>

namespace pravaha::cli {

namespace {

constexpr size_t column = 32;
constexpr size_t width = 98;

/// One flag: `value` names what it takes (nullptr for a switch); `choices` completes its value.
struct flag_spec {
    const char* name;
    const char* value;
    const char* help;
    const char* choices = nullptr;
};

/// One command: its path of subcommand names, its positional arguments (space-separated, all
/// required unless `optional_positional`), its help and flags.
struct command_spec {
    const char* path;
    const char* positionals;
    const char* help;
    std::vector<flag_spec> flags;
    bool optional_positional = false;
};

const flag_spec json_flag{"--json", nullptr, "one JSON object per line"};

std::vector<flag_spec> policy_flags(const char* segments_help) {
    return {
        {"--segments", "N", segments_help},
        {"--scale-by", "events|kbytes",
         "scale automatically by events/s or KiB/s per segment (needs --target)", "events kbytes"},
        {"--target", "R", "events/s or KiB/s per segment above which a segment splits"},
        {"--factor", "F", "parts a hot segment splits into at most (default 2)"},
        {"--min-segments", "M", "never merge below M segments (default: the current count)"},
    };
}

const std::vector<flag_spec>& global_flags() {
    static const std::vector<flag_spec> flags = {
        {"--endpoint", "HOST:PORT",
         "a node of the cluster (default $PRAVAHA_ENDPOINT, else 127.0.0.1:9090)"},
        {"--cluster-id", "ID",
         "refuse a node of another cluster (default $PRAVAHA_CLUSTER_ID; `cluster status` "
         "shows it)"},
        {"--token", "TOKEN",
         "the token a node started with --token-file wants (default $PRAVAHA_TOKEN; better "
         "there than on a command line others can list)"},
        {"--tls-ca", "FILE",
         "TLS to nodes started with --tls-*: the CA of their certificates, PEM (default "
         "$PRAVAHA_TLS_CA)"},
        {"--tls-cert", "FILE",
         "this client's certificate of that CA, PEM (default $PRAVAHA_TLS_CERT)"},
        {"--tls-key", "FILE", "the certificate's key, PEM (default $PRAVAHA_TLS_KEY)"},
    };
    return flags;
}

const std::vector<command_spec>& commands() {
    static const std::vector<command_spec> specs = {
        {"scope", "", "create, list and delete scopes", {}},
        {"scope create", "SCOPE", "create a scope", {}},
        {"scope list", "", "list the scopes", {}},
        {"scope delete", "SCOPE", "delete a scope without streams or reader groups", {}},
        {"stream", "", "create, scale, inspect, seal and delete streams", {}},
        {"stream create", "SCOPE/STREAM",
         "create a stream: N segments of a fixed policy, or a policy that scales by load",
         policy_flags("segments at the start (default 1)")},
        {"stream update", "SCOPE/STREAM",
         "set a new scaling policy; --segments N alone: fixed, nothing rescaled",
         policy_flags("a fixed policy (the stream keeps its segments)")},
        {"stream scale",
         "SCOPE/STREAM",
         "seal segments of the current epoch and replace them (ids as `stream info` prints them)",
         {{"--split", "E.N", "split this segment"},
          {"--into", "K", "parts of the split (default 2)"},
          {"--merge", "E.N,E.N[,...]", "merge these neighbouring segments into one"}}},
        {"stream list", "SCOPE", "list a scope's streams", {}},
        {"stream info",
         "SCOPE/STREAM",
         "the stream's state, policy and current segments",
         {json_flag}},
        {"stream history", "SCOPE/STREAM", "every epoch with its segments", {json_flag}},
        {"stream cut",
         "SCOPE/STREAM",
         "the tail stream cut as one token (for read --from/--to and group create --from)",
         {{"--head", nullptr, "the head stream cut instead"}}},
        {"stream seal", "SCOPE/STREAM", "seal the stream: no more appends", {}},
        {"stream delete", "SCOPE/STREAM", "delete a sealed stream", {}},
        {"group", "", "reader groups: create, inspect, checkpoint, reset and delete", {}},
        {"group create",
         "SCOPE/GROUP",
         "create a reader group over one or more streams",
         {{"--stream", "SCOPE/STREAM", "a stream the group reads (repeat for more)"},
          {"--from", "head|tail|CUT",
           "where reading starts (default head; a CUT needs one --stream)", "head tail"},
          {"--lease-ms", "L",
           "a reader that reports nothing for L ms goes offline (default 10000)"},
          {"--checkpoint-interval-ms", "C",
           "automatic checkpoints every C ms (default 30000; 0: none)"}}},
        {"group list", "SCOPE", "list a scope's reader groups", {}},
        {"group info",
         "SCOPE/GROUP",
         "readers with their segments, positions and unread bytes",
         {json_flag}},
        {"group checkpoint",
         "SCOPE/GROUP",
         "wait until every reader recorded a checkpoint; print one cut per stream",
         {{"--name", "N", "the checkpoint's name (default: made up)"}}},
        {"group reset",
         "SCOPE/GROUP",
         "every reader rejoins at a checkpoint or stream cut",
         {{"--to", "CHECKPOINT|CUT", "where the group goes"}}},
        {"group delete", "SCOPE/GROUP", "delete a reader group", {}},
        {"cluster", "", "the cluster as the node sees it", {}},
        {"cluster status",
         "",
         "members, and per Raft group (0 = controller, c+1 = container c): role, leader, term, "
         "commit index and each follower's lag; listeners; the disk",
         {json_flag}},
        {"write",
         "SCOPE/STREAM",
         "write one event per stdin line; without a key all events share one routing key",
         {{"--key", "K", "the routing key of every event"},
          {"--key-delimiter", "C",
           "the text before the first C of a line is its routing key, the rest the event"},
          {"--txn", "ID", "into open transaction ID: nothing visible until `txn commit`"},
          {"--atomic", nullptr,
           "all of stdin as one transaction committed at its end (prints the id, then "
           "`committed`); on an error it is aborted and nothing is visible"}}},
        {"txn", "", "transactions: begin, commit, abort, status, list", {}},
        {"txn begin",
         "SCOPE/STREAM",
         "print a new transaction's id; it is aborted when nothing renews it for --lease-ms",
         {{"--lease-ms", "L", "default 30000; `write --txn` renews it as it runs"}}},
        {"txn commit", "SCOPE/STREAM ID", "commit: wait until its events are visible, whole", {}},
        {"txn abort", "SCOPE/STREAM ID", "abort: wait until its events are discarded", {}},
        {"txn status",
         "SCOPE/STREAM ID",
         "open, committing, committed, aborting or aborted",
         {json_flag}},
        {"txn list", "SCOPE/STREAM", "the open and committing transactions", {json_flag}},
        {"read",
         "SCOPE/STREAM",
         "print one event per line: the stored ones, or with --follow new ones too; with "
         "--group, what the group assigns --reader (it leaves the group on exit)",
         {{"--from", "head|tail|CUT", "where reading starts (default head)", "head tail"},
          {"--to", "CUT", "reading ends at this stream cut"},
          {"--follow", nullptr, "wait for new events (until --timeout-ms passes without one)"},
          {"--max", "N", "stop after N events"},
          {"--timeout-ms", "T", "with --follow: stop after T ms without an event (0: never)"},
          json_flag,
          {"--group", "SCOPE/GROUP", "read as a reader of this reader group (no SCOPE/STREAM)"},
          {"--reader", "NAME", "the reader's name in --group"}},
         true},
        {"completion", "", "print a shell's completion script", {}},
        {"completion bash",
         "",
         "bash completion: `source <(pravaha completion bash)`, or install it as "
         "/usr/share/bash-completion/completions/pravaha",
         {}},
    };
    return specs;
}

std::vector<std::string> words_of(const std::string& s) {
    std::vector<std::string> out;
    std::istringstream in(s);
    std::string w;
    while (in >> w) {
        out.push_back(w);
    }
    return out;
}

void add_flag(CLI::App& app, const flag_spec& f) {
    // const: CLI11 takes a non-const string as the variable to store into.
    const auto help = wrap_words(f.help, width - column);
    if (f.value == nullptr) {
        app.add_flag(f.name, help);
        return;
    }
    auto* o = app.add_option(f.name, help)->type_name(f.value);
    if (std::string_view(f.name) == "--stream") {
        o->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    }
}

/// The command tree of `commands()` on `app`.
void build(CLI::App& app) {
    app.get_formatter()->column_width(column);
    app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
    app.fallthrough();  // global flags after the command too
    app.require_subcommand(1);
    for (const auto& f : global_flags()) {
        add_flag(app, f);
    }
    app.get_option("--endpoint")->envname("PRAVAHA_ENDPOINT");
    app.get_option("--cluster-id")->envname("PRAVAHA_CLUSTER_ID");
    app.get_option("--token")->envname("PRAVAHA_TOKEN");
    app.get_option("--tls-ca")->envname("PRAVAHA_TLS_CA");
    app.get_option("--tls-cert")->envname("PRAVAHA_TLS_CERT");
    app.get_option("--tls-key")->envname("PRAVAHA_TLS_KEY");
    std::map<std::string, CLI::App*> by_path;
    for (const auto& c : commands()) {
        auto words = words_of(c.path);
        CLI::App* parent = &app;
        std::string parent_path;
        for (size_t i = 0; i + 1 < words.size(); ++i) {
            parent_path += (i ? " " : "") + words[i];
            parent = by_path.at(parent_path);
        }
        auto* sub = parent->add_subcommand(words.back(), wrap_words(c.help, width - column));
        by_path[c.path] = sub;
        for (const auto& p : words_of(c.positionals)) {
            auto* o = sub->add_option(p, "")->type_name("");
            if (!c.optional_positional) {
                o->required();
            }
        }
        for (const auto& f : c.flags) {
            add_flag(*sub, f);
        }
        if (parent != &app) {
            parent->require_subcommand(1);
        }
    }
}

/// The chain of commands the parse selected, as a path ("stream create").
std::string selected_path(CLI::App& app, CLI::App*& leaf) {
    std::string path;
    leaf = &app;
    while (!leaf->get_subcommands().empty()) {
        leaf = leaf->get_subcommands().front();
        path += (path.empty() ? "" : " ") + leaf->get_name();
    }
    return path;
}

/// Every value-taking flag anywhere, and the words that complete each one's value.
void flag_tables(std::set<std::string>& valued, std::map<std::string, std::string>& choices) {
    auto note = [&](const flag_spec& f) {
        if (f.value != nullptr) {
            valued.insert(f.name);
        }
        if (f.choices != nullptr) {
            choices[f.name] = f.choices;
        }
    };
    for (const auto& f : global_flags()) {
        note(f);
    }
    for (const auto& c : commands()) {
        for (const auto& f : c.flags) {
            note(f);
        }
    }
}

}  // namespace

std::string bash_completion() {
    // Per command path: the subcommands and flags it offers. The function walks the words before
    // the cursor (skipping each flag's value) down the tree and completes the last one.
    std::map<std::string, std::string> subs;
    std::map<std::string, std::string> flags;
    flags[""] = "--help";
    for (const auto& f : global_flags()) {
        flags[""] += std::string(" ") + f.name;
    }
    for (const auto& c : commands()) {
        std::string path = c.path;
        auto space = path.rfind(' ');
        auto parent = space == std::string::npos ? std::string() : path.substr(0, space);
        auto name = space == std::string::npos ? path : path.substr(space + 1);
        subs[parent] += (subs[parent].empty() ? "" : " ") + name;
        flags[path] = "--help";
        for (const auto& f : c.flags) {
            flags[path] += std::string(" ") + f.name;
        }
    }
    std::set<std::string> valued;
    std::map<std::string, std::string> choices;
    flag_tables(valued, choices);
    std::string out =
        "# bash completion for pravaha (made by `pravaha completion bash`; do not edit)\n";
    auto table = [&out](const char* var, const std::map<std::string, std::string>& m) {
        out += fmt::format("declare -gA {}=(\n", var);
        for (const auto& [k, v] : m) {
            out += fmt::format("  [\"{}\"]=\"{}\"\n", k.empty() ? "-" : k, v);
        }
        out += ")\n";
    };
    table("_pravaha_subcommands", subs);
    table("_pravaha_flags", flags);
    table("_pravaha_choices", choices);
    std::string valued_list;
    for (const auto& v : valued) {
        valued_list += (valued_list.empty() ? "" : " ") + v;
    }
    out += fmt::format("_pravaha_valued=\" {} \"\n", valued_list);
    out += R"(_pravaha() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} path="-" word i
    if [[ $_pravaha_valued == *" $prev "* ]]; then
        COMPREPLY=($(compgen -W "${_pravaha_choices[$prev]}" -- "$cur"))
        return
    fi
    for ((i = 1; i < COMP_CWORD; i++)); do
        word=${COMP_WORDS[i]}
        if [[ $_pravaha_valued == *" $word "* ]]; then
            ((i++))
        elif [[ " ${_pravaha_subcommands[$path]} " == *" $word "* ]]; then
            if [[ $path == - ]]; then path=$word; else path="$path $word"; fi
        fi
    done
    if [[ $cur == -* ]]; then
        COMPREPLY=($(compgen -W "${_pravaha_flags[$path]} ${_pravaha_flags[-]}" -- "$cur"))
    else
        COMPREPLY=($(compgen -W "${_pravaha_subcommands[$path]}" -- "$cur"))
    fi
}
complete -F _pravaha pravaha
)";
    return out;
}

std::optional<int> parse_args(int argc, char** argv, args& a) {
    CLI::App app{"pravaha: the command-line client of a Pravaha stream store.", "pravaha"};
    app.footer(wrap_words(
        "Events with the same routing key keep their order. `pravaha COMMAND --help` shows a "
        "command's arguments.",
        width));
    build(app);
    auto explain = [&app](const CLI::ParseError& e) {
        CLI::App* leaf = nullptr;
        auto path = selected_path(app, leaf);
        auto prefix = "pravaha " + (path.empty() ? "" : path + " ");
        std::string what = e.what();
        // "A subcommand is required" for a word that is no command: name the word.
        auto rest = app.remaining();
        if (leaf->get_require_subcommand_min() > 0 && leaf->get_subcommands().empty() &&
            !rest.empty() && rest.front().rfind('-', 0) != 0) {
            what = "'" + rest.front() + "' is not a command of '" +
                   prefix.substr(0, prefix.size() - 1) + "'";
        }
        return usage_words{what, prefix + "--help"};
    };
    if (auto code = parse_command_line(app, argc, argv, "pravaha", explain)) {
        return code;
    }
    CLI::App* leaf = nullptr;
    auto path = selected_path(app, leaf);
    if (path == "completion bash") {
        std::fputs(bash_completion().c_str(), stdout);
        return 0;
    }
    a.positional = words_of(path);
    const command_spec* spec = nullptr;
    for (const auto& c : commands()) {
        if (path == c.path) {
            spec = &c;
        }
    }
    for (const auto& p : words_of(spec->positionals)) {
        for (const auto& v : leaf->get_option(p)->results()) {
            a.positional.push_back(v);
        }
    }
    auto take = [&a](CLI::App& on, const flag_spec& f) {
        auto* o = on.get_option(f.name);
        if (o->count() == 0 && o->results().empty()) {
            return;
        }
        if (f.value == nullptr) {
            a.flags[f.name] = "";
        } else if (std::string_view(f.name) == "--stream") {
            a.streams = o->results();
            a.flags[f.name] = a.streams.back();
        } else {
            a.flags[f.name] = o->as<std::string>();
        }
    };
    for (const auto& f : global_flags()) {
        take(app, f);
    }
    for (const auto& f : spec->flags) {
        take(*leaf, f);
    }
    return std::nullopt;
}

}  // namespace pravaha::cli
