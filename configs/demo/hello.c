/* The demo board's program: proves the cross toolchain and the task graph work. */
#include <stdio.h>

int main(void)
{
    printf("xenbuild demo for board %s\n", BOARD);
    return 0;
}
