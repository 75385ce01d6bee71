#include "app/App.h"

int main(int argc, char** argv) {
    return vmd::app::run(argc, argv);
}
