export { composeAdmission } from "../pipeline/admission";
