// The validator of the forms made from the server's JSON Schemas (2020-12: the action types'
// parameters, the business objects' data). The server checks again and says what in a 422.
import { customizeValidator } from "@rjsf/validator-ajv8";
import Ajv2020 from "ajv/dist/2020";

export const validator = customizeValidator({ AjvClass: Ajv2020 });
