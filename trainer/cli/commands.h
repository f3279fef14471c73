// The `tal` subcommands. Each takes the arguments after its name and returns the process exit code; errors are
// thrown as tal::Error and reported once by main.
#pragma once

#include <string>
#include <vector>

namespace tal {

using Args = std::vector<std::string>;
class Runtime;

int run_zoo(const Args& args);
int run_hypernet(const Args& args);
int run_bench(const Args& args, Runtime& runtime);
int run_data(const Args& args);
int run_ancestry(const Args& args);
int run_tasks(const Args& args);
int run_train(const Args& args, Runtime& runtime);
int run_predict(const Args& args);
int run_eval(const Args& args);
int run_inspect(const Args& args);
int run_info(const Args& args);
int run_finetune(const Args& args, Runtime& runtime);
int run_report(const Args& args);
int run_export(const Args& args);

}  // namespace tal
