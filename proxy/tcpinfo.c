/* placeholder: being written */
typedef int tcpinfo_placeholder_t;
