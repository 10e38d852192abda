/* placeholder: being written */
typedef int server_placeholder_t;
